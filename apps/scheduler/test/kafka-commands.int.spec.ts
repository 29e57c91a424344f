import { Command, ContentTypes, encodeMessage, JobSpec, Reply, Topics, contentTypeOf, decodeMessage } from '@wharf/contracts';
import { eventually, uniqueName } from '@wharf/testing';
import type { Consumer, Producer } from 'kafkajs';
import { follow, kafkaClient, startScheduler, tokens, topicOf, type RunningScheduler } from './scheduler-harness';

const decodeReply = (value: Buffer, headers: Record<string, unknown>): Reply =>
  decodeMessage(Reply, 'Reply', value, contentTypeOf(headers as never, value));

describe('scheduler: wharf.commands → wharf.replies (real Kafka)', () => {
  const ns = uniqueName('it-cmd');
  const kafka = kafkaClient();
  let scheduler: RunningScheduler;
  let producer: Producer;
  let replies: { items: { key: string; value: Reply }[]; consumer: Consumer };
  let dlq: { items: { key: string; value: Buffer }[]; consumer: Consumer };

  beforeAll(async () => {
    scheduler = await startScheduler(ns, {
      queues: [{ name: 'batch', tenants: ['acme'], namespaces: ['team-a'], quota: { cpu: 1 } }],
    });
    producer = kafka.producer();
    await producer.connect();
    replies = await follow(kafka, topicOf(ns, Topics.replies), decodeReply);
    dlq = await follow(kafka, `${topicOf(ns, Topics.commands)}.dlq`, (v) => v);
  });
  afterAll(async () => {
    await replies?.consumer.disconnect();
    await dlq?.consumer.disconnect();
    await producer?.disconnect();
    await scheduler?.stop();
  });

  const spec = (name: string) =>
    JobSpec.fromPartial({ name, namespace: 'team-a', queue: 'batch', image: 'busybox:1.36', resources: { cpu: '500m', memory: '', gpu: 0 } });

  it('submits over JSON and protobuf, idempotently, and answers every command by its id', async () => {
    const json = Command.fromPartial({ commandId: 'c-json', token: tokens.acme, submitJob: { spec: spec('from-json'), idempotencyKey: '' } });
    const proto = Command.fromPartial({ commandId: 'c-proto', token: tokens.acme, submitJob: { spec: spec('from-proto'), idempotencyKey: 'proto-key' } });
    const again = Command.fromPartial({ commandId: 'c-again', token: tokens.acme, submitJob: { spec: spec('from-proto'), idempotencyKey: 'proto-key' } });
    const conflict = Command.fromPartial({ commandId: 'c-conflict', token: tokens.acme, submitJob: { spec: spec('changed'), idempotencyKey: 'proto-key' } });
    const noToken = Command.fromPartial({ commandId: 'c-anon', submitJob: { spec: spec('anon'), idempotencyKey: '' } });
    const foreign = Command.fromPartial({ commandId: 'c-foreign', token: tokens.globex, submitJob: { spec: spec('foreign'), idempotencyKey: '' } });
    const invalid = Command.fromPartial({ commandId: 'c-invalid', token: tokens.acme, submitJob: { spec: { ...spec('bad'), image: '' }, idempotencyKey: '' } });
    await producer.send({
      topic: topicOf(ns, Topics.commands),
      messages: [
        { key: 'c-json', value: encodeMessage(Command, json, ContentTypes.json), headers: { 'content-type': ContentTypes.json } },
        ...[proto, again, conflict, noToken, foreign, invalid].map((c) => ({ key: c.commandId, value: encodeMessage(Command, c) })),
      ],
    });
    const byId = await eventually(
      () => {
        const map = new Map(replies.items.map((r) => [r.key, r.value]));
        for (const id of ['c-json', 'c-proto', 'c-again', 'c-conflict', 'c-anon', 'c-foreign', 'c-invalid']) {
          if (!map.has(id)) throw new Error(`no reply to ${id}`);
        }
        return map;
      },
      { timeoutMs: 30_000, description: 'every reply' },
    );
    expect(byId.get('c-json')).toMatchObject({ accepted: true, code: 0, job: { jobId: expect.stringMatching(/^from-json-/) } });
    // Two commands with one key: whichever ran first (they may sit in different partitions)
    // created the job, the other found it.
    expect(byId.get('c-proto')).toMatchObject({ accepted: true, job: { jobId: 'proto-key' } });
    expect(byId.get('c-again')).toMatchObject({ accepted: true, job: { jobId: 'proto-key' } });
    expect([byId.get('c-proto')?.message, byId.get('c-again')?.message].sort()).toEqual(['already exists with the same spec', 'created']);
    expect(byId.get('c-conflict')).toMatchObject({ accepted: false, code: 6 });
    expect(byId.get('c-conflict')?.message).toContain('different spec');
    expect(byId.get('c-anon')).toMatchObject({ accepted: false, code: 16 });
    expect(byId.get('c-foreign')).toMatchObject({ accepted: false, code: 7 });
    expect(byId.get('c-invalid')).toMatchObject({ accepted: false, code: 3, violations: [{ field: 'spec.image' }] });
  });

  it('rejects or dead-letters 100 malformed records among 1,000 and processes the other 900', async () => {
    const topic = topicOf(ns, Topics.commands);
    const messages: { key: string | null; value: Buffer; headers?: Record<string, string> }[] = [];
    const valid: string[] = [];
    const malformed: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      if (i % 10 === 3) {
        const kind = i % 4;
        const id = `bad-${i}`;
        malformed.push(id);
        if (kind === 0) messages.push({ key: id, value: Buffer.from('{"commandId": "bad-' + i + '", "submitJob": {"spec": {"parallelism": "many"}}'), headers: { 'content-type': ContentTypes.json } });
        else if (kind === 1) messages.push({ key: null, value: Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]) });
        else if (kind === 2) messages.push({ key: id, value: Buffer.from('not json at all'), headers: { 'content-type': ContentTypes.json } });
        else messages.push({ key: id, value: Buffer.from('[1,2,3]'), headers: { 'content-type': ContentTypes.json } });
      } else {
        const id = `ok-${i}`;
        valid.push(id);
        // Cancels of unknown jobs are cheap, valid commands: NOT_FOUND replies.
        const command = i % 2 === 0
          ? Command.fromPartial({ commandId: id, token: tokens.acme, submitJob: { spec: spec(`bulk-${i}`), idempotencyKey: `bulk-${ns}-${i}`.slice(0, 63) } })
          : Command.fromPartial({ commandId: id, token: tokens.acme, cancelJob: { jobId: `missing-${i}`, reason: '' } });
        messages.push({ key: id, value: encodeMessage(Command, command) });
      }
    }
    for (let i = 0; i < messages.length; i += 100) await producer.send({ topic, messages: messages.slice(i, i + 100) });
    // Records with neither a readable command id nor a key cannot be answered: DLQ.
    const keyless = malformed.filter((id) => Number(id.slice(4)) % 4 === 1);
    await eventually(
      () => {
        const replied = new Set(replies.items.map((r) => r.key));
        const missing = valid.filter((id) => !replied.has(id));
        if (missing.length > 0) throw new Error(`${missing.length} valid commands without a reply`);
        const rejected = malformed.filter((id) => replied.has(id)).length;
        if (rejected + dlq.items.length < malformed.length) throw new Error(`${rejected} rejected + ${dlq.items.length} dead-lettered`);
      },
      { timeoutMs: 170_000, intervalMs: 500, description: 'all 1,000 records handled' },
    );
    const replied = new Map(replies.items.map((r) => [r.key, r.value]));
    for (const id of malformed) {
      if (replied.has(id)) expect(replied.get(id)).toMatchObject({ accepted: false, code: 3 });
    }
    expect(dlq.items).toHaveLength(keyless.length);
    const submits = valid.filter((id) => Number(id.slice(3)) % 2 === 0);
    expect(submits.every((id) => replied.get(id)?.accepted)).toBe(true);
    expect(valid.filter((id) => !submits.includes(id)).every((id) => replied.get(id)?.code === 5)).toBe(true);
    // The consumer never stopped: it is still joined and answering.
    expect(scheduler.leadership.isLeading()).toBe(true);
  }, 180_000);
});
