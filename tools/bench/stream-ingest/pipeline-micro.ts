/**
 * stream-ingest's own per-record cost, in process and without Kafka: NDJSON chunks → splitter →
 * runner (window, processors, serializer) → batcher → a sink that acknowledges at once.
 * Prints CPU-µs per record. What it leaves out is what the throughput bench adds: HTTP
 * receive and kafkajs.
 *
 *   npx tsx tools/bench/stream-ingest/pipeline-micro.ts [--records 1000000] [--src apps/stream-ingest/src]
 */
import { resolve } from 'node:path';
import { createLogger, systemClock } from '@wharf/platform';
import { StreamDesiredState } from '@wharf/contracts';
import { lines } from './bench-kit';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const records = Number(arg('records', '1000000'));
  const src = resolve(arg('src', resolve(__dirname, '../../../apps/stream-ingest/src')));
  // The source tree is an argument: loaded with require.
  const { StreamRunner } = require(`${src}/stream-runner`) as typeof import('../../../apps/stream-ingest/src/stream-runner');
  const { NdjsonSplitter } = require(`${src}/ndjson-splitter`) as typeof import('../../../apps/stream-ingest/src/ndjson-splitter');
  const { toStreamDefinition } = require(`${src}/stream-definition`) as typeof import('../../../apps/stream-ingest/src/stream-definition');
  const definition = toStreamDefinition(
    {
      streamId: 'micro',
      tenant: 't',
      source: { generator: { rate: 0, count: 0, template: '' } },
      processors: [],
      sink: { topic: 'out', serializer: 'bytes', headers: {}, compression: '', dlqTopic: '' },
      limits: { maxInFlightRecords: 10_000, maxInFlightBytes: 16 << 20 },
      desiredState: StreamDesiredState.STREAM_DESIRED_STATE_RUNNING,
      generation: 1,
    },
    { maxInFlightRecords: 10_000, maxInFlightBytes: 16 << 20, maxInFlightRecordsCap: 200_000, maxInFlightBytesCap: 64 << 20 },
  );
  let written = 0;
  const runner = new StreamRunner({
    definition,
    // Acknowledges on the next turn, as a broker would (later), so batches form.
    sink: { send: async (_topic, batch) => void (written += batch.length) },
    clock: systemClock,
    logger: createLogger({ service: 'micro', level: 'silent' }),
    batching: { maxBatchRecords: 2_000, maxBatchBytes: 1 << 20 },
  });
  // 64 KiB chunks, as a socket delivers them; built before the clock starts.
  const body = Buffer.concat(Array.from({ length: Math.ceil(records / 5_000) }, (_, i) => lines(i * 5_000, Math.min(5_000, records - i * 5_000))));
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += 65_536) chunks.push(body.subarray(at, at + 65_536));
  const splitter = new NdjsonSplitter();
  const submit = (line: Buffer): void => runner.submit({ value: line });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const chunk of chunks) {
    splitter.push(chunk, submit);
    if (runner.window.full) await runner.window.whenOpen();
  }
  await runner.stop(60_000);
  const cpu = process.cpuUsage(cpu0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ src, records, written, seconds, cpuUsPerRecord: (cpu.user + cpu.system) / records, heapMb: process.memoryUsage().heapUsed / 2 ** 20 })}\n`,
  );
}

void main();
