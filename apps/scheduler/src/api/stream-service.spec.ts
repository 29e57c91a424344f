import { status } from '@grpc/grpc-js';
import { Command, encodeMessage, Reply, StreamDesiredState, StreamSpec, type StreamStatus } from '@wharf/contracts';
import {
  AlreadyExistsError,
  createLogger,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  tokenAuthenticator,
  UnavailableError,
  type CallContext,
  type ConsumedRecord,
  type RecordSender,
} from '@wharf/platform';
import { defaultDefinitionDefaults } from '@wharf/streams';
import { aQueue } from '../domain/test-builders';
import { defaultSpecLimits } from '../domain/spec-validator';
import { JobEngine } from '../engine/job-engine';
import { EventHub } from '../state/event-hub';
import { JobStore } from '../state/job-store';
import { MemoryStateLog } from '../state/memory-state-log';
import { commandHandler } from './command-handler';
import { REDACTED, redactStreamSpec, StreamRegistry, type StreamLog } from './stream-registry';
import { streamServiceHandlers } from './stream-service';

const logger = createLogger({ service: 'test', level: 'silent' });
const RUNNING = StreamDesiredState.STREAM_DESIRED_STATE_RUNNING;
const PAUSED = StreamDesiredState.STREAM_DESIRED_STATE_PAUSED;

/** wharf.streams in memory; `hold` keeps writes pending until released, `failNext` fails one. */
class FakeStreamLog implements StreamLog {
  readonly records: { id: string; spec: StreamSpec | null }[] = [];
  hold = false;
  failNext: Error | undefined;
  private readonly pending: (() => void)[] = [];

  async load(onRecord: (id: string, spec: StreamSpec | null) => void): Promise<void> {
    for (const r of this.records) onRecord(r.id, r.spec);
  }

  async write(id: string, spec: StreamSpec | null): Promise<void> {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    if (this.hold) await new Promise<void>((resolve) => this.pending.push(resolve));
    this.records.push({ id, spec });
  }

  release(): void {
    for (const resolve of this.pending.splice(0)) resolve();
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  latest(id: string): StreamSpec | null | undefined {
    return this.records.filter((r) => r.id === id).at(-1)?.spec;
  }
}

function specOf(overrides: Partial<StreamSpec> = {}): StreamSpec {
  return StreamSpec.fromPartial({
    streamId: 'tweets',
    tenant: 'someone-else',
    source: { http: { url: 'https://api.example.com/stream', format: 'ndjson', headers: { 'User-Agent': 'wharf', 'X-Api-Key': 'k-123' }, bearerToken: 's3cr3t-token' } },
    processors: [{ parseJson: true }, { filter: "data.lang = 'en'" }],
    sink: { topic: 'tweets-en' },
    ...overrides,
  });
}

async function started(log = new FakeStreamLog()): Promise<{ registry: StreamRegistry; log: FakeStreamLog }> {
  const registry = new StreamRegistry({ log, logger, defaults: defaultDefinitionDefaults, maxStatuses: 3 });
  await registry.start();
  await registry.settled();
  return { registry, log };
}

const statusOf = (streamId: string, overrides: Partial<StreamStatus> = {}): StreamStatus => ({
  streamId,
  state: 'running',
  replica: 'r1',
  generation: 1,
  recordsIn: 10,
  recordsOut: 9,
  errors: 0,
  dlq: 1,
  bytesPerSecond: 0,
  lag: 0,
  lastError: '',
  updatedAt: new Date('2025-01-01T00:00:10Z'),
  ...overrides,
});

async function violationsOf(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  return (error as InvalidArgumentError).violations.map((v) => v.field);
}

describe('StreamRegistry', () => {
  it('answers UNAVAILABLE until wharf.streams is loaded, then knows what was there (tombstones delete)', async () => {
    const log = new FakeStreamLog();
    log.records.push(
      { id: 'a', spec: specOf({ streamId: 'a', tenant: 'acme', generation: 3 }) },
      { id: 'b', spec: specOf({ streamId: 'b', tenant: 'acme' }) },
      { id: 'b', spec: null },
    );
    const registry = new StreamRegistry({ log, logger, defaults: defaultDefinitionDefaults });
    expect(() => registry.list('acme')).toThrow(UnavailableError);
    await registry.start();
    await registry.settled();
    expect(registry.list('acme').map((s) => [s.spec?.streamId, s.spec?.generation])).toEqual([['a', 3]]);
    await registry.stop();
    expect(() => registry.get('acme', 'a')).toThrow(UnavailableError);
  });

  it('creates a stream owned by the caller, generation 1, RUNNING by default; the token is stored, never returned', async () => {
    const { registry, log } = await started();
    const { stream, created } = await registry.create('acme', specOf());
    expect(created).toBe(true);
    expect(stream.spec).toMatchObject({ streamId: 'tweets', tenant: 'acme', generation: 1, desiredState: RUNNING });
    expect(stream.spec?.source?.http?.bearerToken).toBe(REDACTED);
    expect(stream.spec?.source?.http?.headers).toEqual({ 'User-Agent': 'wharf', 'X-Api-Key': REDACTED });
    expect(JSON.stringify(stream)).not.toContain('s3cr3t-token');
    expect(log.latest('tweets')).toMatchObject({ tenant: 'acme', generation: 1, desiredState: RUNNING, source: { http: { bearerToken: 's3cr3t-token' } } });
    expect(JSON.stringify(registry.get('acme', 'tweets'))).not.toContain('s3cr3t-token');
    expect(JSON.stringify(registry.list('acme'))).not.toContain('k-123');
  });

  it('creates paused when the spec says so', async () => {
    const { registry } = await started();
    const { stream } = await registry.create('acme', specOf({ desiredState: PAUSED }));
    expect(stream.spec?.desiredState).toBe(PAUSED);
  });

  it('refuses an invalid spec listing every problem, and writes nothing', async () => {
    const { registry, log } = await started();
    const fields = await violationsOf(
      registry.create(
        'acme',
        specOf({ streamId: 'Bad_Id', processors: [{ filter: 'a = ' }, {}], sink: { topic: 'wharf.jobs.state', serializer: 'xml', headers: {}, compression: '', dlqTopic: '' } }),
      ),
    );
    expect(fields).toEqual(expect.arrayContaining(['streamId', 'processors[0].filter', 'processors[1]', 'sink.topic', 'sink.serializer']));
    expect(await violationsOf(registry.create('acme', undefined))).toEqual(['spec']);
    expect(await violationsOf(registry.create('acme', specOf({ source: { http: { url: 'https://x', format: '', headers: {}, bearerToken: REDACTED } } })))).toEqual([
      'source.http.bearerToken',
    ]);
    expect(log.records).toEqual([]);
  });

  it('is idempotent for the same spec, ALREADY_EXISTS for another, PERMISSION_DENIED for another tenant', async () => {
    const { registry, log } = await started();
    await registry.create('acme', specOf());
    await registry.setDesiredState('acme', 'tweets', true);
    const again = await registry.create('acme', specOf());
    expect(again.created).toBe(false);
    expect(again.stream.spec).toMatchObject({ generation: 2, desiredState: PAUSED });
    await expect(registry.create('acme', specOf({ sink: { topic: 'other', serializer: '', headers: {}, compression: '', dlqTopic: '' } }))).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(registry.create('globex', specOf())).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(log.records).toHaveLength(2);
  });

  it("keeps other tenants' streams away: get, update, pause, delete, stats are PERMISSION_DENIED; list shows only the caller's", async () => {
    const { registry } = await started();
    await registry.create('acme', specOf());
    await registry.create('globex', specOf({ streamId: 'g1' }));
    await registry.create('acme', specOf({ streamId: 'a0' }));
    expect(() => registry.get('globex', 'tweets')).toThrow(PermissionDeniedError);
    expect(() => registry.stats('globex', 'tweets')).toThrow(PermissionDeniedError);
    await expect(registry.update('globex', specOf())).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(registry.setDesiredState('globex', 'tweets', true)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(registry.delete('globex', 'tweets')).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(registry.list('acme').map((s) => s.spec?.streamId)).toEqual(['a0', 'tweets']);
    expect(registry.list('globex').map((s) => s.spec?.streamId)).toEqual(['g1']);
    expect(() => registry.get('acme', 'nope')).toThrow(NotFoundError);
    await expect(registry.update('acme', specOf({ streamId: 'nope' }))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('updates: generation + 1, the desired state kept when unspecified, redacted secrets kept, the same spec changes nothing', async () => {
    const { registry, log } = await started();
    await registry.create('acme', specOf());
    await registry.setDesiredState('acme', 'tweets', true);
    const asShown = registry.get('acme', 'tweets').spec as StreamSpec;
    const updated = await registry.update('acme', { ...asShown, processors: [{ parseJson: true }], desiredState: StreamDesiredState.STREAM_DESIRED_STATE_UNSPECIFIED });
    expect(updated.spec).toMatchObject({ generation: 3, desiredState: PAUSED, processors: [{ parseJson: true }] });
    expect(log.latest('tweets')?.source?.http).toMatchObject({ bearerToken: 's3cr3t-token', headers: { 'X-Api-Key': 'k-123' } });
    const writes = log.records.length;
    const same = await registry.update('acme', registry.get('acme', 'tweets').spec);
    expect(same.spec?.generation).toBe(3);
    expect(log.records).toHaveLength(writes);
    expect(await violationsOf(registry.update('acme', { ...asShown, sink: undefined }))).toContain('sink');
  });

  it('pauses and resumes with a new generation each time; pausing a paused stream changes nothing', async () => {
    const { registry, log } = await started();
    await registry.create('acme', specOf());
    expect((await registry.setDesiredState('acme', 'tweets', true)).spec).toMatchObject({ generation: 2, desiredState: PAUSED });
    expect((await registry.setDesiredState('acme', 'tweets', true)).spec).toMatchObject({ generation: 2, desiredState: PAUSED });
    expect((await registry.setDesiredState('acme', 'tweets', false)).spec).toMatchObject({ generation: 3, desiredState: RUNNING });
    expect(log.records.map((r) => r.spec?.generation)).toEqual([1, 2, 3]);
  });

  it('deletes with a tombstone and answers the stream as it was', async () => {
    const { registry, log } = await started();
    await registry.create('acme', specOf());
    registry.observeStatus(statusOf('tweets'));
    const last = await registry.delete('acme', 'tweets');
    expect(last.spec).toMatchObject({ streamId: 'tweets', generation: 1 });
    expect(last.status?.recordsIn).toBe(10);
    expect(JSON.stringify(last)).not.toContain('s3cr3t-token');
    expect(log.records.at(-1)).toEqual({ id: 'tweets', spec: null });
    expect(() => registry.get('acme', 'tweets')).toThrow(NotFoundError);
    await expect(registry.delete('acme', 'tweets')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serializes writes per stream: generations never go backwards, answers come after the write', async () => {
    const { registry, log } = await started();
    await registry.create('acme', specOf());
    log.hold = true;
    let answered = 0;
    const calls = [
      registry.setDesiredState('acme', 'tweets', true),
      registry.update('acme', specOf({ processors: [] })),
      registry.setDesiredState('acme', 'tweets', false),
      registry.update('acme', specOf({ processors: [{ parseJson: true }] })),
    ].map((p) => p.then((s) => (answered++, s)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.pendingWrites).toBe(1);
    expect(answered).toBe(0);
    while (answered < calls.length) {
      log.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.all(calls);
    expect(results.map((s) => s.spec?.generation)).toEqual([2, 3, 4, 5]);
    expect(log.records.map((r) => r.spec?.generation)).toEqual([1, 2, 3, 4, 5]);
    expect(registry.get('acme', 'tweets').spec).toMatchObject({ generation: 5, desiredState: RUNNING, processors: [{ parseJson: true }] });
  });

  it('leaves memory unchanged when the write fails, so the next write reuses the generation', async () => {
    const { registry, log } = await started();
    await registry.create('acme', specOf());
    log.failNext = new UnavailableError('broker down');
    await expect(registry.setDesiredState('acme', 'tweets', true)).rejects.toBeInstanceOf(UnavailableError);
    expect(registry.get('acme', 'tweets').spec?.generation).toBe(1);
    expect((await registry.setDesiredState('acme', 'tweets', true)).spec?.generation).toBe(2);
  });

  it('knows its streams again after a restart (a new term reloads the log)', async () => {
    const { registry, log } = await started();
    await registry.create('acme', specOf());
    await registry.setDesiredState('acme', 'tweets', true);
    await registry.stop();
    const again = await started(log);
    expect(again.registry.get('acme', 'tweets').spec).toMatchObject({ generation: 2, desiredState: PAUSED });
  });

  it('keeps the newest status per stream, drops it on stopped, and says clearly when there is none', async () => {
    const { registry } = await started();
    await registry.create('acme', specOf());
    expect(() => registry.stats('acme', 'tweets')).toThrow(/no status yet/);
    registry.observeStatus(statusOf('tweets'));
    registry.observeStatus(statusOf('tweets', { recordsIn: 5, updatedAt: new Date('2025-01-01T00:00:05Z') }));
    expect(registry.stats('acme', 'tweets').recordsIn).toBe(10);
    expect(registry.get('acme', 'tweets').status?.recordsIn).toBe(10);
    registry.observeStatus(statusOf('tweets', { state: 'stopped' }));
    expect(() => registry.stats('acme', 'tweets')).toThrow(NotFoundError);
    for (const id of ['s1', 's2', 's3', 's4']) registry.observeStatus(statusOf(id));
    registry.observeStatus(statusOf('tweets'));
    // At most maxStatuses (3) are kept: the oldest reported went.
    expect(registry.stats('acme', 'tweets').streamId).toBe('tweets');
  });
});

describe('redactStreamSpec', () => {
  it('redacts the bearer token and credential headers only', () => {
    const redacted = redactStreamSpec(specOf({ source: { http: { url: 'u', format: '', bearerToken: '', headers: { Authorization: 'Basic x', Cookie: 'c', Accept: 'a' } } } }));
    expect(redacted.source?.http).toEqual({ url: 'u', format: '', bearerToken: '', headers: { Authorization: REDACTED, Cookie: REDACTED, Accept: 'a' } });
    const generator = specOf({ source: { generator: { rate: 1, count: 0, template: '' } } });
    expect(redactStreamSpec(generator)).toBe(generator);
  });
});

describe('StreamService handlers', () => {
  const ctx = (tenant: string): CallContext => ({ principal: { tenant }, method: 'test', metadata: undefined, signal: new AbortController().signal }) as unknown as CallContext;

  it('serves the eight RPCs for the caller', async () => {
    const { registry } = await started();
    const handlers = streamServiceHandlers(registry);
    const created = await handlers.createStream({ spec: specOf() }, ctx('acme'));
    expect(created.spec?.tenant).toBe('acme');
    expect((await handlers.pauseStream({ streamId: 'tweets' }, ctx('acme'))).spec?.desiredState).toBe(PAUSED);
    expect((await handlers.resumeStream({ streamId: 'tweets' }, ctx('acme'))).spec?.desiredState).toBe(RUNNING);
    expect((await handlers.updateStream({ spec: specOf({ processors: [] }) }, ctx('acme'))).spec?.generation).toBe(4);
    expect((await handlers.getStream({ streamId: 'tweets' }, ctx('acme'))).spec?.generation).toBe(4);
    expect((await handlers.listStreams({}, ctx('acme'))).streams).toHaveLength(1);
    registry.observeStatus(statusOf('tweets', { generation: 4 }));
    expect((await handlers.getStreamStats({ streamId: 'tweets' }, ctx('acme'))).generation).toBe(4);
    await expect(handlers.getStream({ streamId: 'tweets' }, ctx('globex'))).rejects.toBeInstanceOf(PermissionDeniedError);
    expect((await handlers.deleteStream({ streamId: 'tweets' }, ctx('acme'))).spec?.streamId).toBe('tweets');
    expect((await handlers.listStreams({}, ctx('acme'))).streams).toEqual([]);
  });
});

describe('stream commands on wharf.commands', () => {
  const token = 'acme-token-0123456789';

  async function handlerWith(registry: StreamRegistry | undefined) {
    const engine = new JobEngine({
      store: new JobStore(),
      hub: new EventHub(),
      log: new MemoryStateLog(),
      logger,
      now: () => new Date('2025-01-01T00:00:00Z'),
      queues: [aQueue({ name: 'batch', tenants: ['acme'], namespaces: ['team-a'] })],
      capacity: { cpu: Infinity, memory: Infinity, gpu: Infinity, maxRunning: Infinity },
      specLimits: defaultSpecLimits,
      retentionMs: 1_000,
    });
    await engine.activate();
    const sent: Reply[] = [];
    const replies: RecordSender = {
      send: async () => [],
      sendMessage: async (_topic, _key, _type, message) => {
        sent.push(message as Reply);
        return [];
      },
    };
    const handle = commandHandler({ engine, store: new JobStore(), streams: registry, authenticate: tokenAuthenticator(new Map([[token, 'acme']])), replies, logger });
    const run = async (command: Partial<Command>): Promise<Reply> => {
      const value = encodeMessage(Command, Command.fromPartial({ token, ...command }));
      const key = command.commandId ?? '';
      await handle({ topic: 'wharf.commands', partition: 0, offset: '0', key: Buffer.from(key), value, headers: {}, timestamp: '0', message: value } as ConsumedRecord<Buffer>);
      return sent.at(-1) as Reply;
    };
    return run;
  }

  it('creates, pauses, resumes, updates and deletes, answering Reply.stream (redacted)', async () => {
    const { registry, log } = await started();
    const run = await handlerWith(registry);
    const created = await run({ commandId: 'c1', createStream: { spec: specOf() } });
    expect(created).toMatchObject({ commandId: 'c1', accepted: true, code: status.OK, message: 'created', stream: { spec: { tenant: 'acme', generation: 1 } } });
    expect(JSON.stringify(Reply.toJSON(created))).not.toContain('s3cr3t-token');
    expect((await run({ commandId: 'c1', createStream: { spec: specOf() } })).message).toBe('already exists with the same spec');
    expect((await run({ commandId: 'c2', pauseStream: { streamId: 'tweets' } })).stream?.spec).toMatchObject({ generation: 2, desiredState: PAUSED });
    expect((await run({ commandId: 'c3', resumeStream: { streamId: 'tweets' } })).stream?.spec).toMatchObject({ generation: 3, desiredState: RUNNING });
    expect((await run({ commandId: 'c4', updateStream: { spec: specOf({ processors: [] }) } })).stream?.spec?.generation).toBe(4);
    expect((await run({ commandId: 'c5', deleteStream: { streamId: 'tweets' } })).message).toBe('deleted');
    expect(log.records.at(-1)).toEqual({ id: 'tweets', spec: null });
    expect((await run({ commandId: 'c6', deleteStream: { streamId: 'tweets' } })).code).toBe(status.NOT_FOUND);
  });

  it('rejects an invalid spec with its violations, and retries (throws) while the streams are loading', async () => {
    const { registry } = await started();
    const run = await handlerWith(registry);
    const invalid = await run({ commandId: 'c1', createStream: { spec: specOf({ sink: undefined }) } });
    expect(invalid).toMatchObject({ accepted: false, code: status.INVALID_ARGUMENT });
    expect(invalid.violations.map((v) => v.field)).toContain('sink');
    await registry.stop();
    await expect(run({ commandId: 'c2', pauseStream: { streamId: 'tweets' } })).rejects.toBeInstanceOf(UnavailableError);
    const without = await handlerWith(undefined);
    expect((await without({ commandId: 'c3', pauseStream: { streamId: 'tweets' } })).code).toBe(status.UNIMPLEMENTED);
  });
});
