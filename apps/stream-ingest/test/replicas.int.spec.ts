import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { ContentTypes, encodeMessage, RecordHeaders, StreamDesiredState, StreamSpec, Topics } from '@wharf/contracts';
import { eventually, freePort, testInfra, uniqueName } from '@wharf/testing';
import { producerOf } from './kafka-test-kit';

const repo = resolve(__dirname, '../../..');

interface Replica {
  readonly name: string;
  readonly opsPort: number;
  readonly child: ChildProcess;
}

/** A real stream-ingest process (main.ts through tsx), following wharf.streams. */
async function startReplica(name: string, groupId: string): Promise<Replica> {
  const opsPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/stream-ingest/src/main.ts'], {
    cwd: repo,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: 'tsconfig.base.json',
      WHARF_KAFKA_BROKERS: testInfra().kafka.brokers.join(','),
      WHARF_REPLICA_ID: name,
      WHARF_OPS_PORT: String(opsPort),
      WHARF_INGRESS_PORT: '0',
      WHARF_LOG_LEVEL: 'warn',
      WHARF_OWNERSHIP_GROUP_ID: groupId,
      WHARF_OWNERSHIP_SESSION_TIMEOUT_MS: '10000',
      WHARF_STATUS_INTERVAL_MS: '1000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk.toString()}`));
  return { name, opsPort, child };
}

/** The streams a replica reports running (wharf_stream_running == 1). */
async function runningOn(replica: Replica): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${replica.opsPort}/metrics`);
  const text = await response.text();
  const streams: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^wharf_stream_running\{[^}]*stream="([^"]+)"[^}]*\} 1$/.exec(line);
    if (match?.[1]) streams.push(match[1]);
  }
  return streams.sort();
}

async function safeRunningOn(replica: Replica): Promise<string[]> {
  try {
    return await runningOn(replica);
  } catch {
    return [];
  }
}

describe('two replicas share streams by consumer-group ownership (real broker, real processes)', () => {
  it('runs each of 10 streams on exactly one replica, and moves a killed replica\'s streams within 30 s', async () => {
    const groupId = uniqueName('wharf.stream-ingest');
    const prefix = uniqueName('rep');
    const ids = Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
    const producer = await producerOf(testInfra().kafka.brokers);
    await producer.send({
      topic: Topics.streams,
      messages: ids.map((id) => ({
        key: id,
        value: encodeMessage(
          StreamSpec,
          {
            streamId: id,
            tenant: 'acme',
            source: { generator: { rate: 5, count: 0, template: `{"stream":"${id}","seq":{{ seq }}}` } },
            processors: [],
            sink: { topic: `${id}-out`, serializer: 'json', headers: {}, compression: '', dlqTopic: '' },
            limits: undefined,
            desiredState: StreamDesiredState.STREAM_DESIRED_STATE_RUNNING,
            generation: 1,
          },
          ContentTypes.protobuf,
        ),
        headers: { [RecordHeaders.contentType]: ContentTypes.protobuf },
      })),
    });
    await producer.disconnect();

    const a = await startReplica('replica-a', groupId);
    const b = await startReplica('replica-b', groupId);
    try {
      let placement: { a: string[]; b: string[] } = { a: [], b: [] };
      await eventually(
        async () => {
          placement = { a: await safeRunningOn(a), b: await safeRunningOn(b) };
          expect([...placement.a, ...placement.b].sort()).toEqual(ids); // each exactly once
          expect(placement.a.length).toBeGreaterThan(0);
          expect(placement.b.length).toBeGreaterThan(0);
        },
        { timeoutMs: 150_000, intervalMs: 1_000, description: 'all 10 streams placed on exactly one replica each' },
      );
      process.stdout.write(`placement: a=${placement.a.length} streams, b=${placement.b.length} streams\n`);

      a.child.kill('SIGKILL');
      const killedAt = Date.now();
      await eventually(async () => expect(await runningOn(b)).toEqual(ids), {
        timeoutMs: 30_000,
        intervalMs: 500,
        description: 'replica-b runs every stream',
      });
      process.stdout.write(`failover: all streams on replica-b ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9 of replica-a\n`);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGTERM');
      await new Promise((resolve) => (b.child.exitCode === null ? b.child.once('exit', resolve) : resolve(undefined)));
    }
  }, 300_000);
});
