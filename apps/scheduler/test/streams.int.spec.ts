/**
 * StreamService and the stream commands against the real Kafka: what lands on wharf.streams,
 * the rules callers see, a restart, statuses from wharf.streams.status; then end to end with a
 * real stream-ingest process following what the scheduler wrote.
 */
import * as grpc from '@grpc/grpc-js';
import {
  Command,
  ContentTypes,
  contentTypeOf,
  decodeMessage,
  encodeMessage,
  RecordHeaders,
  Reply,
  StreamDesiredState,
  StreamServiceClient,
  StreamSpec,
  StreamStatus,
  Topics,
  type ListStreamsResponse,
  type Stream,
} from '@wharf/contracts';
import { isSealed, SecretSealer } from '@wharf/platform';
import { eventually, freePort, ManagedProcess, testInfra, uniqueName } from '@wharf/testing';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { follow, kafkaClient, startScheduler, tokens, topicOf, unary, type RunningScheduler } from './scheduler-harness';

const root = resolve(__dirname, '../../..');
const RUNNING = StreamDesiredState.STREAM_DESIRED_STATE_RUNNING;
const PAUSED = StreamDesiredState.STREAM_DESIRED_STATE_PAUSED;
const TOKEN = 'bearer-s3cr3t-never-shown';
// The scheduler seals stream credentials with this key; stream-ingest opens them with it.
const sealKey = randomBytes(32);
const sealKeyFile = join(mkdtempSync(join(tmpdir(), 'wharf-seal-')), 'seal.key');
writeFileSync(sealKeyFile, sealKey.toString('base64'), { mode: 0o600 });
const sealer = SecretSealer.fromKey(sealKey);

/** Every record of a topic, tombstones included (value null), in arrival order. */
async function followAll(kafka: Kafka, topic: string): Promise<{ records: { key: string; value: Buffer | null; headers: Record<string, unknown> }[]; consumer: Consumer }> {
  const records: { key: string; value: Buffer | null; headers: Record<string, unknown> }[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('streams-test'), allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await eventually(() => consumer.subscribe({ topic, fromBeginning: true }), { timeoutMs: 30_000, description: `subscribing to ${topic}` });
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({ key: message.key?.toString() ?? '', value: message.value, headers: message.headers as Record<string, unknown> });
    },
  });
  return { records, consumer };
}

const decodeSpec = (record: { value: Buffer | null; headers: Record<string, unknown> }): StreamSpec | null =>
  record.value ? decodeMessage(StreamSpec, 'StreamSpec', record.value, contentTypeOf(record.headers as never, record.value)) : null;

const specOf = (overrides: Partial<StreamSpec> = {}): StreamSpec =>
  StreamSpec.fromPartial({
    streamId: 'tweets',
    tenant: 'mallory',
    source: { http: { url: 'https://api.example.com/2/tweets/sample/stream', format: 'ndjson', headers: { 'User-Agent': 'wharf' }, bearerToken: TOKEN } },
    processors: [{ parseJson: true }, { filter: "data.lang = 'en'" }],
    sink: { topic: 'tweets-en', serializer: 'json' },
    ...overrides,
  });

function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: grpc.ServiceError) => error,
  );
}

/** The wharf CLI from source (a process: the scheduler under test runs in this one). */
async function wharf(address: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'apps/cli/src/main.ts'), ...args], {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.base.json', WHARF_SERVER: address, WHARF_TOKEN: tokens.acme, XDG_CONFIG_HOME: join(tmpdir(), 'wharf-streams-test-no-config') },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The scheduler loads wharf.streams in the background after taking over: wait for it. */
async function streamsReady(client: InstanceType<typeof StreamServiceClient>): Promise<void> {
  await eventually(() => unary<unknown, ListStreamsResponse>(client, 'listStreams', {}, tokens.acme), { timeoutMs: 60_000, intervalMs: 200, description: 'StreamService to serve' });
}

describe('scheduler: StreamService and stream commands (real Kafka)', () => {
  const ns = uniqueName('it-streams');
  const kafka = kafkaClient();
  let scheduler: RunningScheduler;
  let client: InstanceType<typeof StreamServiceClient>;
  let producer: Producer;
  let specs: Awaited<ReturnType<typeof followAll>>;
  const responses: unknown[] = [];

  const call = async <Res>(method: string, request: unknown, token: string = tokens.acme): Promise<Res> => {
    const response = await unary<unknown, Res>(client, method, request, token);
    responses.push(response);
    return response;
  };
  const onTopic = (id: string) => specs.records.filter((r) => r.key === id);

  beforeAll(async () => {
    scheduler = await startScheduler(ns, { secrets: { sealKeyFile } });
    client = new StreamServiceClient(scheduler.address, grpc.credentials.createInsecure());
    await streamsReady(client);
    producer = kafka.producer();
    await producer.connect();
    specs = await followAll(kafka, topicOf(ns, Topics.streams));
  });
  afterAll(async () => {
    client?.close();
    await specs?.consumer.disconnect();
    await producer?.disconnect();
    await scheduler?.stop();
  });

  it('creates: the spec lands on <ns>.wharf.streams under the stream id, owned by the caller, generation 1, with its token sealed; the answer redacts it', async () => {
    const created = await call<Stream>('createStream', { spec: specOf() });
    expect(created.spec).toMatchObject({ streamId: 'tweets', tenant: 'acme', generation: 1, desiredState: RUNNING });
    expect(created.spec?.source?.http?.bearerToken).toBe('[redacted]');
    const [record] = await eventually(
      () => {
        const found = onTopic('tweets');
        expect(found).toHaveLength(1);
        return found;
      },
      { timeoutMs: 20_000, description: 'the spec on wharf.streams' },
    );
    const stored = decodeSpec(record as never);
    expect(stored).toMatchObject({ streamId: 'tweets', tenant: 'acme', generation: 1, desiredState: RUNNING });
    const storedToken = stored?.source?.http?.bearerToken ?? '';
    expect(isSealed(storedToken)).toBe(true);
    expect(sealer.open('source.http.bearerToken', storedToken)).toBe(TOKEN);
    expect((record as { value: Buffer }).value.includes(TOKEN)).toBe(false);
    // The same spec again is the same stream; another spec under the id is ALREADY_EXISTS.
    expect((await call<Stream>('createStream', { spec: specOf() })).spec?.generation).toBe(1);
    const conflict = await grpcError(call('createStream', { spec: specOf({ sink: { topic: 'elsewhere', serializer: '', headers: {}, compression: '', dlqTopic: '' } }) }));
    expect(conflict.code).toBe(grpc.status.ALREADY_EXISTS);
  });

  it('refuses an invalid spec with INVALID_ARGUMENT naming every field', async () => {
    const error = await grpcError(
      call('createStream', {
        spec: specOf({ streamId: 'Not_A_Label', processors: [{ filter: 'data.lang = ' }], sink: { topic: 'wharf.jobs.state', serializer: 'xml', headers: {}, compression: '', dlqTopic: '' } }),
      }),
    );
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    for (const field of ['streamId', 'processors[0].filter', 'sink.topic', 'sink.serializer']) expect(error.details).toContain(field);
    expect(onTopic('Not_A_Label')).toEqual([]);
  });

  it('pauses: generation 2, PAUSED, on the topic too', async () => {
    const paused = await call<Stream>('pauseStream', { streamId: 'tweets' });
    expect(paused.spec).toMatchObject({ generation: 2, desiredState: PAUSED });
    await eventually(() => expect(onTopic('tweets').map((r) => decodeSpec(r)?.generation)).toEqual([1, 2]), { timeoutMs: 20_000, description: 'generation 2 on the topic' });
    expect(decodeSpec(onTopic('tweets')[1] as never)?.desiredState).toBe(PAUSED);
  });

  it("answers PERMISSION_DENIED for another tenant's stream, and lists only the caller's", async () => {
    for (const [method, request] of [
      ['getStream', { streamId: 'tweets' }],
      ['pauseStream', { streamId: 'tweets' }],
      ['resumeStream', { streamId: 'tweets' }],
      ['deleteStream', { streamId: 'tweets' }],
      ['getStreamStats', { streamId: 'tweets' }],
      ['updateStream', { spec: specOf() }],
      ['createStream', { spec: specOf() }],
    ] as const) {
      expect([method, (await grpcError(call(method, request, tokens.globex))).code]).toEqual([method, grpc.status.PERMISSION_DENIED]);
    }
    expect((await call<ListStreamsResponse>('listStreams', {}, tokens.globex)).streams).toEqual([]);
    expect((await call<ListStreamsResponse>('listStreams', {})).streams.map((s) => s.spec?.streamId)).toEqual(['tweets']);
  });

  it('shows the StreamStatus stream-ingest writes to <ns>.wharf.streams.status in GetStreamStats and GetStream', async () => {
    const missing = await grpcError(call('getStreamStats', { streamId: 'tweets' }));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.details).toContain('no status yet');
    const status = StreamStatus.fromPartial({ streamId: 'tweets', state: 'paused', replica: 'replica-x', generation: 2, recordsIn: 42, recordsOut: 40, dlq: 2, updatedAt: new Date() });
    await producer.send({
      topic: topicOf(ns, Topics.streamsStatus),
      messages: [{ key: 'tweets', value: encodeMessage(StreamStatus, status), headers: { [RecordHeaders.contentType]: ContentTypes.protobuf } }],
    });
    const stats = await eventually(() => call<StreamStatus>('getStreamStats', { streamId: 'tweets' }), { timeoutMs: 60_000, intervalMs: 250, description: 'the status' });
    expect(stats).toMatchObject({ streamId: 'tweets', state: 'paused', replica: 'replica-x', generation: 2, recordsIn: 42, recordsOut: 40, dlq: 2 });
    expect((await call<Stream>('getStream', { streamId: 'tweets' })).status?.recordsIn).toBe(42);
  });

  it('serves the stream commands on wharf.commands, answering Reply.stream on wharf.replies', async () => {
    const replies = await follow(kafka, topicOf(ns, Topics.replies), (value, headers) => decodeMessage(Reply, 'Reply', value, contentTypeOf(headers as never, value)));
    try {
      const commands = [
        Command.fromPartial({ commandId: 's-create', token: tokens.acme, createStream: { spec: specOf({ streamId: 'orders', sink: { topic: 'orders-out', serializer: '', headers: {}, compression: '', dlqTopic: '' } }) } }),
        Command.fromPartial({ commandId: 's-foreign', token: tokens.globex, pauseStream: { streamId: 'tweets' } }),
        Command.fromPartial({ commandId: 's-invalid', token: tokens.acme, createStream: { spec: specOf({ streamId: 'bad', sink: undefined }) } }),
      ];
      await producer.send({
        topic: topicOf(ns, Topics.commands),
        messages: commands.map((c) => ({ key: c.commandId, value: encodeMessage(Command, c, ContentTypes.json), headers: { [RecordHeaders.contentType]: ContentTypes.json } })),
      });
      const byId = await eventually(
        () => {
          const map = new Map(replies.items.map((r) => [r.key, r.value]));
          for (const c of commands) if (!map.has(c.commandId)) throw new Error(`no reply to ${c.commandId}`);
          return map;
        },
        { timeoutMs: 60_000, description: 'the replies' },
      );
      expect(byId.get('s-create')).toMatchObject({ accepted: true, code: 0, message: 'created', stream: { spec: { streamId: 'orders', tenant: 'acme', generation: 1 } } });
      expect(byId.get('s-create')?.stream?.spec?.source?.http?.bearerToken).toBe('[redacted]');
      expect(byId.get('s-foreign')).toMatchObject({ accepted: false, code: grpc.status.PERMISSION_DENIED });
      expect(byId.get('s-invalid')).toMatchObject({ accepted: false, code: grpc.status.INVALID_ARGUMENT });
      expect(byId.get('s-invalid')?.violations.map((v) => v.field)).toContain('sink.topic');
      for (const reply of byId.values()) responses.push(Reply.toJSON(reply));
      const pause = Command.fromPartial({ commandId: 's-pause', token: tokens.acme, pauseStream: { streamId: 'orders' } });
      await producer.send({ topic: topicOf(ns, Topics.commands), messages: [{ key: pause.commandId, value: encodeMessage(Command, pause) }] });
      const paused = await eventually(
        () => {
          const reply = replies.items.find((r) => r.key === 's-pause');
          if (!reply) throw new Error('no reply to s-pause');
          return reply.value;
        },
        { timeoutMs: 30_000, description: 'the pause reply' },
      );
      expect(paused.stream?.spec).toMatchObject({ generation: 2, desiredState: PAUSED });
    } finally {
      await replies.consumer.disconnect();
    }
  });

  it('deletes with a tombstone, answering the stream as it was', async () => {
    const deleted = await call<Stream>('deleteStream', { streamId: 'orders' });
    expect(deleted.spec).toMatchObject({ streamId: 'orders', generation: 2 });
    await eventually(() => expect(onTopic('orders').at(-1)?.value).toBeNull(), { timeoutMs: 20_000, description: 'the tombstone' });
    expect((await grpcError(call('getStream', { streamId: 'orders' }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('works with the wharf CLI: stream create -f | list | pause | resume | stats | delete', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wharf-streams-')), 'stream.yaml');
    writeFileSync(file, `streamId: cli-demo\nsource:\n  webhook:\n    path: cli/demo\nprocessors:\n  - parseJson: true\nsink:\n  topic: cli-demo-out\n`);
    const created = await wharf(scheduler.address, 'stream', 'create', '-f', file, '-o', 'json');
    expect(created).toMatchObject({ code: 0 });
    expect(JSON.parse(created.stdout)).toMatchObject({ spec: { streamId: 'cli-demo', tenant: 'acme', generation: '1', desiredState: 'STREAM_DESIRED_STATE_RUNNING' } });
    const listed = await wharf(scheduler.address, 'stream', 'list');
    expect(listed.stdout).toMatch(/cli-demo\s+RUNNING\s+-\s+webhook \/ingest\/cli\/demo\s+cli-demo-out/);
    expect(listed.stdout).toContain('tweets');
    expect((await wharf(scheduler.address, 'stream', 'pause', 'cli-demo')).stdout).toBe('stream cli-demo: PAUSED\n');
    expect((await wharf(scheduler.address, 'stream', 'resume', 'cli-demo')).stdout).toBe('stream cli-demo: RUNNING\n');
    const noStats = await wharf(scheduler.address, 'stream', 'stats', 'cli-demo');
    expect(noStats.code).not.toBe(0);
    expect(noStats.stderr).toContain('no status yet');
    const status = StreamStatus.fromPartial({ streamId: 'cli-demo', state: 'running', replica: 'replica-y', generation: 3, recordsIn: 7, recordsOut: 6, dlq: 1, updatedAt: new Date() });
    await producer.send({
      topic: topicOf(ns, Topics.streamsStatus),
      messages: [{ key: 'cli-demo', value: encodeMessage(StreamStatus, status), headers: { [RecordHeaders.contentType]: ContentTypes.protobuf } }],
    });
    await eventually(() => call<StreamStatus>('getStreamStats', { streamId: 'cli-demo' }), { timeoutMs: 60_000, intervalMs: 250, description: 'the status' });
    const stats = await wharf(scheduler.address, 'stream', 'stats', 'cli-demo');
    expect(stats.stdout).toContain('running on replica-y (generation 3)');
    expect(stats.stdout).toContain('7 in, 6 out, 0 errors, 1 to the DLQ');
    expect((await wharf(scheduler.address, 'stream', 'delete', 'cli-demo')).stdout).toBe('stream cli-demo deleted\n');
    expect((await grpcError(call('getStream', { streamId: 'cli-demo' }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('knows the streams after a restart (read back from <ns>.wharf.streams)', async () => {
    client.close();
    await scheduler.stop();
    scheduler = await startScheduler(ns);
    client = new StreamServiceClient(scheduler.address, grpc.credentials.createInsecure());
    await streamsReady(client);
    const listed = await call<ListStreamsResponse>('listStreams', {});
    expect(listed.streams.map((s) => [s.spec?.streamId, s.spec?.generation, s.spec?.desiredState])).toEqual([['tweets', 2, PAUSED]]);
    expect((await call<Stream>('resumeStream', { streamId: 'tweets' })).spec).toMatchObject({ generation: 3, desiredState: RUNNING });
    await eventually(() => expect(onTopic('tweets').map((r) => decodeSpec(r)?.generation)).toEqual([1, 2, 3]), { timeoutMs: 20_000, description: 'generation 3' });
    // The token survived the restart (kept sealed, opening to the original).
    expect(sealer.open('source.http.bearerToken', decodeSpec(onTopic('tweets')[2] as never)?.source?.http?.bearerToken ?? '')).toBe(TOKEN);
  });

  it('never returned the bearer token', () => {
    expect(responses.length).toBeGreaterThan(10);
    expect(JSON.stringify(responses)).not.toContain(TOKEN);
  });
});

describe('streams end to end: scheduler StreamService → wharf.streams → a stream-ingest process → the sink topic', () => {
  // stream-ingest follows the un-prefixed wharf.streams, so this scheduler writes its stream
  // topics there (its job topics stay in the test namespace); the stream id is unique.
  const ns = uniqueName('it-streams-e2e');
  const streamId = uniqueName('e2e');
  const sinkTopic = `${streamId}-out`;
  const kafka = kafkaClient();
  const admin = kafka.admin();
  let scheduler: RunningScheduler;
  let client: InstanceType<typeof StreamServiceClient>;
  let ingest: ManagedProcess;
  let statuses: Awaited<ReturnType<typeof followAll>>;
  let created = false;

  const call = <Res>(method: string, request: unknown): Promise<Res> => unary<unknown, Res>(client, method, request, tokens.acme);
  /** Records on the sink topic so far (sum of its partitions' high watermarks). */
  const sinkCount = async (): Promise<number> => {
    const offsets = await admin.fetchTopicOffsets(sinkTopic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  };
  const stats = () => call<StreamStatus>('getStreamStats', { streamId });

  beforeAll(async () => {
    await admin.connect();
    scheduler = await startScheduler(ns, { streams: { topic: Topics.streams, statusTopic: Topics.streamsStatus }, secrets: { sealKeyFile } });
    client = new StreamServiceClient(scheduler.address, grpc.credentials.createInsecure());
    await streamsReady(client);
    const opsPort = await freePort();
    ingest = new ManagedProcess({
      name: 'stream-ingest',
      command: process.execPath,
      args: ['--import', 'tsx', join(root, 'apps/stream-ingest/src/main.ts')],
      cwd: root,
      env: {
        TSX_TSCONFIG_PATH: 'tsconfig.base.json',
        WHARF_KAFKA_BROKERS: testInfra().kafka.brokers.join(','),
        WHARF_LOG_LEVEL: process.env['WHARF_TEST_LOG_LEVEL'] ?? 'info',
        WHARF_REPLICA_ID: `${ns}-ingest`,
        WHARF_OPS_PORT: String(opsPort),
        WHARF_INGRESS_PORT: '0',
        WHARF_OWNERSHIP_GROUP_ID: `${ns}.stream-ingest`,
        WHARF_STATUS_INTERVAL_MS: '1000',
        WHARF_STOP_DRAIN_MS: '2000',
        WHARF_SECRETS_SEAL_KEY_FILE: sealKeyFile,
      },
      logFile: join(tmpdir(), `${ns}-stream-ingest.log`),
      ready: async () => {
        try {
          return (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      readyTimeoutMs: 120_000,
    });
    await ingest.start();
    statuses = await followAll(kafka, Topics.streamsStatus);
  });
  afterAll(async () => {
    // wharf.streams is shared with the other suites' stream-ingest instances: leave nothing running.
    if (created) await call('deleteStream', { streamId }).catch(() => undefined);
    await statuses?.consumer.disconnect();
    await ingest?.stop();
    client?.close();
    await scheduler?.stop();
    await admin.disconnect();
  });

  it('runs a created stream into its sink topic, stops it on pause, continues on resume, and stops reporting it after delete', async () => {
    const spec = StreamSpec.fromPartial({
      streamId,
      source: { generator: { rate: 50, count: 100_000, template: '{"seq":{{ seq }},"word":"wharf"}' } },
      processors: [{ parseJson: true }, { map: '{"seq": seq, "word": $uppercase(word)}' }, { key: '$string(seq)' }],
      sink: { topic: sinkTopic, serializer: 'json' },
    });
    await call<Stream>('createStream', { spec });
    created = true;

    await eventually(async () => expect(await sinkCount()).toBeGreaterThanOrEqual(20), { timeoutMs: 120_000, intervalMs: 500, description: `records on ${sinkTopic}` });
    const running = await eventually(
      async () => {
        const s = await stats();
        expect(s).toMatchObject({ state: 'running', generation: 1, replica: `${ns}-ingest` });
        expect(s.recordsOut).toBeGreaterThan(0);
        return s;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'a running status' },
    );
    expect(running.recordsIn).toBeGreaterThanOrEqual(running.recordsOut);

    expect((await call<Stream>('pauseStream', { streamId })).spec?.generation).toBe(2);
    // stream-ingest reports `paused` only after it stopped the source and drained the stream.
    const paused = await eventually(
      async () => {
        const s = await stats();
        expect(s).toMatchObject({ state: 'paused', generation: 2 });
        return s;
      },
      { timeoutMs: 60_000, intervalMs: 250, description: 'a paused status' },
    );
    const atPause = await sinkCount();
    // A later status (published every second) proves time went by; the topic did not grow.
    await eventually(
      async () => expect((await stats()).updatedAt?.getTime()).toBeGreaterThan((paused.updatedAt?.getTime() ?? 0) + 2_000),
      { timeoutMs: 30_000, intervalMs: 250, description: 'two more statuses' },
    );
    expect(await sinkCount()).toBe(atPause);

    expect((await call<Stream>('resumeStream', { streamId })).spec?.generation).toBe(3);
    await eventually(async () => expect(await sinkCount()).toBeGreaterThan(atPause + 10), { timeoutMs: 60_000, intervalMs: 500, description: 'records after resume' });
    await eventually(async () => expect(await stats()).toMatchObject({ state: 'running', generation: 3 }), { timeoutMs: 30_000, intervalMs: 250, description: 'running again' });

    await call<Stream>('deleteStream', { streamId });
    created = false;
    expect((await grpcError(stats())).code).toBe(grpc.status.NOT_FOUND);
    // stream-ingest saw the tombstone: it stopped the stream and reported it `stopped`.
    await eventually(
      () =>
        expect(
          statuses.records
            .filter((r) => r.key === streamId && r.value)
            .map((r) => decodeMessage(StreamStatus, 'StreamStatus', r.value as Buffer, contentTypeOf(r.headers as never, r.value as Buffer)).state),
        ).toContain('stopped'),
      { timeoutMs: 60_000, intervalMs: 250, description: 'a stopped status' },
    );
  });

  it('runs an HTTP source whose bearer token crossed wharf.streams sealed: stream-ingest opens it', async () => {
    const token = `e2e-token-${randomBytes(6).toString('hex')}`;
    const httpStreamId = `${streamId}-http`;
    const httpSink = `${httpStreamId}-out`;
    let authorized = 0;
    const upstream: Server = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401).end('unauthorized\n');
        return;
      }
      authorized++;
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(Array.from({ length: 25 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as { port: number }).port;
    try {
      await call<Stream>('createStream', {
        spec: StreamSpec.fromPartial({
          streamId: httpStreamId,
          source: { http: { url: `http://127.0.0.1:${port}/stream`, format: 'ndjson', bearerToken: token } },
          sink: { topic: httpSink, serializer: 'bytes' },
        }),
      });
      await eventually(
        async () => {
          const offsets = await admin.fetchTopicOffsets(httpSink);
          expect(offsets.reduce((sum, o) => sum + Number(o.high), 0)).toBeGreaterThanOrEqual(25);
        },
        { timeoutMs: 120_000, intervalMs: 500, description: `records on ${httpSink}` },
      );
      expect(authorized).toBeGreaterThan(0);
      // What stream-ingest read from wharf.streams: the token only in sealed form.
      const specRecords = await followAll(kafka, Topics.streams);
      try {
        const mine = await eventually(() => {
          const found = specRecords.records.filter((r) => r.key === httpStreamId && r.value);
          expect(found.length).toBeGreaterThan(0);
          return found;
        });
        for (const r of mine) expect((r.value as Buffer).includes(token)).toBe(false);
      } finally {
        await specRecords.consumer.disconnect();
      }
    } finally {
      await call('deleteStream', { streamId: httpStreamId }).catch(() => undefined);
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});
