import { status } from '@grpc/grpc-js';
import { Command, ContentTypes, DecodeError, encodeMessage, JobState, Reply, type WatchJobResponse } from '@wharf/contracts';
import {
  createLogger,
  InvalidArgumentError,
  PermissionDeniedError,
  tokenAuthenticator,
  type CallContext,
  type ConsumedRecord,
  type RecordSender,
} from '@wharf/platform';
import { aQueue, aSpec } from '../domain/test-builders';
import { defaultSpecLimits } from '../domain/spec-validator';
import { JobEngine } from '../engine/job-engine';
import { decodeResumeToken, encodeResumeToken, EventHub } from '../state/event-hub';
import { JobStore } from '../state/job-store';
import { MemoryStateLog } from '../state/memory-state-log';
import { commandHandler } from './command-handler';
import { jobServiceHandlers } from './job-service';
import { prepareWorkflowSubmit } from './workflow-service';
import { parseTokenTable } from './token-table';

const logger = createLogger({ service: 'test', level: 'silent' });
const now = () => new Date('2025-01-01T00:00:00Z');

async function setup() {
  const store = new JobStore();
  const hub = new EventHub();
  const engine = new JobEngine({
    store,
    hub,
    log: new MemoryStateLog(),
    logger,
    now,
    queues: [aQueue({ name: 'batch', tenants: ['acme'], namespaces: ['team-a'] })],
    capacity: { cpu: Infinity, memory: Infinity, gpu: Infinity, maxRunning: Infinity },
    specLimits: defaultSpecLimits,
    retentionMs: 1_000,
  });
  await engine.activate();
  const handlers = jobServiceHandlers({ engine, store, hub, capacity: { cpu: 8, memory: Infinity, gpu: Infinity, maxRunning: Infinity }, now, heartbeatMs: 20 });
  return { store, hub, engine, handlers };
}

const ctx = (tenant: string, controller = new AbortController()): CallContext =>
  ({ principal: { tenant }, method: 'test', metadata: undefined, signal: controller.signal }) as unknown as CallContext;

describe('JobService handlers', () => {
  it('submits, denies other tenants, and explains', async () => {
    const { handlers } = await setup();
    const { job, created } = await handlers.submitJob({ spec: aSpec({ queue: 'batch' }), idempotencyKey: '' }, ctx('acme'));
    expect(created).toBe(true);
    const jobId = job?.jobId as string;
    await expect(handlers.getJob({ jobId }, ctx('globex'))).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(handlers.submitJob({ spec: aSpec({ queue: 'batch' }), idempotencyKey: '' }, ctx('globex'))).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(handlers.submitJob({ spec: aSpec({ queue: 'batch', namespace: 'elsewhere' }), idempotencyKey: '' }, ctx('acme'))).rejects.toBeInstanceOf(PermissionDeniedError);
    const explained = await handlers.explainJob({ jobId }, ctx('acme'));
    expect(explained).toMatchObject({ state: JobState.JOB_STATE_QUEUED, queuePosition: 1, queueLength: 1 });
  });

  it('replays from a sequence, follows live, and sends heartbeats', async () => {
    const { handlers, engine } = await setup();
    const { job } = await handlers.submitJob({ spec: aSpec({ queue: 'batch' }), idempotencyKey: '' }, ctx('acme'));
    const jobId = job?.jobId as string;
    const controller = new AbortController();
    const got: WatchJobResponse[] = [];
    const watching = handlers.watchJob({ jobId, afterSequence: 0 }, ctx('acme', controller), async (m) => {
      got.push(m);
      if (got.filter((g) => g.heartbeat).length >= 1 && got.some((g) => g.event?.admitted)) controller.abort();
    });
    await engine.admissionCycle();
    await watching;
    const sequences = got.flatMap((g) => (g.event ? [g.event.sequence] : []));
    expect(sequences).toEqual([1, 2]);
    expect(got.some((g) => g.heartbeat?.resumeToken === '2')).toBe(true);
  });
});

describe('command handler', () => {
  async function run(value: Buffer | null, key: string | null, headers: Record<string, string> = {}) {
    const { engine, store } = await setup();
    const sent: { key: string; reply: Reply }[] = [];
    const replies: RecordSender = {
      send: async () => [],
      sendMessage: async (_topic, key, _type, message) => {
        sent.push({ key, reply: message as Reply });
        return [];
      },
    };
    const handle = commandHandler({ engine, store, authenticate: tokenAuthenticator(new Map([['acme-token-0123456789', 'acme']])), replies, logger });
    const record = { topic: 'wharf.commands', partition: 0, offset: '0', key: key === null ? null : Buffer.from(key), value, headers, timestamp: '0', message: value } as ConsumedRecord<Buffer>;
    return { result: handle(record), sent };
  }

  it('answers a valid JSON command in JSON', async () => {
    const command = Command.fromPartial({ commandId: 'c1', token: 'acme-token-0123456789', submitJob: { spec: aSpec({ queue: 'batch' }) } });
    const { result, sent } = await run(encodeMessage(Command, command, ContentTypes.json), 'c1', { 'content-type': ContentTypes.json });
    await result;
    expect(sent[0]).toMatchObject({ key: 'c1', reply: { accepted: true, code: 0 } });
  });

  it('rejects undecodable records it can name, and throws (DLQ) the ones it cannot', async () => {
    const named = await run(Buffer.from('{"commandId":"c2","submitJob":{"spec":{"parallelism":3}'), 'c2');
    await named.result;
    expect(named.sent[0]).toMatchObject({ key: 'c2', reply: { accepted: false, code: status.INVALID_ARGUMENT } });
    const keyed = await run(Buffer.from([0xff, 0xff, 0x01]), 'c3');
    await keyed.result;
    expect(keyed.sent[0]).toMatchObject({ key: 'c3', reply: { accepted: false, code: status.INVALID_ARGUMENT } });
    const anonymous = await run(Buffer.from([0xff, 0xff, 0x01]), null);
    await expect(anonymous.result).rejects.toBeInstanceOf(DecodeError);
  });

  it('answers UNAUTHENTICATED and PERMISSION_DENIED with their codes', async () => {
    const anon = await run(encodeMessage(Command, Command.fromPartial({ commandId: 'c4', submitJob: { spec: aSpec({ queue: 'batch' }) } })), 'c4');
    await anon.result;
    expect(anon.sent[0]?.reply.code).toBe(status.UNAUTHENTICATED);
    const foreign = await run(encodeMessage(Command, Command.fromPartial({ commandId: 'c5', token: 'acme-token-0123456789', cancelJob: { jobId: 'nope' } })), 'c5');
    await foreign.result;
    expect(foreign.sent[0]?.reply.code).toBe(status.NOT_FOUND);
  });
});

describe('tokens and resume tokens', () => {
  it('parses the tokens file and never echoes a token in errors', () => {
    expect(parseTokenTable('tenants:\n  - name: a\n    tokens: ["aaaaaaaaaaaaaaaaaa"]\n', 'f').get('aaaaaaaaaaaaaaaaaa')).toBe('a');
    let message = '';
    try {
      parseTokenTable('tenants:\n  - name: a\n    tokens: ["short-secret"]\n', 'f');
    } catch (error) {
      message = (error as InvalidArgumentError).message;
    }
    expect(message).toContain('at least 16');
    expect(message).not.toContain('short-secret');
  });

  it('round-trips WatchJobs resume tokens', () => {
    const offsets = new Map([[0, 5n], [2, 17n]]);
    expect(decodeResumeToken(encodeResumeToken(offsets))).toEqual(offsets);
    expect(() => decodeResumeToken('!!')).toThrow();
  });
});

describe('prepareWorkflowSubmit', () => {
  it('refuses a withItems list longer than a job of this scheduler may have, naming the task and the limit', async () => {
    const { engine } = await setup();
    const text = (items: number) =>
      JSON.stringify({
        name: 'fan',
        namespace: 'team-a',
        queue: 'batch',
        tasks: [{ name: 'each', withItems: Array.from({ length: items }, (_, i) => String(i)), template: { image: 'busybox:1.36' } }],
      });
    const max = defaultSpecLimits.maxItems;
    await expect(prepareWorkflowSubmit({ engine }, 'acme', { text: text(max), idempotencyKey: '' })).resolves.toMatchObject({ workflowId: expect.any(String) });
    const error = await prepareWorkflowSubmit({ engine }, 'acme', { text: text(max + 1), idempotencyKey: '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).violations).toEqual([
      { field: 'tasks[0].withItems', description: `${max + 1} items; a job of this scheduler has at most ${max} (limits.maxItems)` },
    ]);
  });
});
