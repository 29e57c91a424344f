/**
 * Restore of N job records from the wharf.jobs.state changelog into the in-memory store, the
 * way a scheduler takes over (readEncodedRecords + JobStore.putEncoded: only the indexed fields
 * are read, the bytes are kept, ADR 0009 and 0012). Writes the N records first (plain
 * idempotent producer, big batches) to a fresh namespaced topic. `--full-decode 1` decodes
 * every record (readRecords) and stores it with JobStore.put, for comparison.
 *
 *   npx tsx tools/bench/scheduler/restore-bench.ts [--records 1000000] [--full-decode 1]
 */
import { JobRecord, encodeMessage } from '@wharf/contracts';
import { createKafka, createLogger, ensureTopics } from '@wharf/platform';
import { randomBytes } from 'node:crypto';
import { reduce } from '../../../apps/scheduler/src/domain/job-reducer';
import { aSpec } from '../../../apps/scheduler/src/domain/test-builders';
import { JobStore } from '../../../apps/scheduler/src/state/job-store';
import { KafkaStateLog } from '../../../apps/scheduler/src/state/kafka-state-log';
import { brokers, deleteNamespaceTopics } from './bench-support';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const count = arg('records', 1_000_000);
  const logger = createLogger({ service: 'restore-bench', level: 'warn' });
  const kafka = createKafka({ brokers: brokers().split(','), clientId: 'restore-bench', logger: logger.child({}, { level: 'fatal' }) });
  const ns = `restore-${randomBytes(3).toString('hex')}`;
  const topic = `${ns}.wharf.jobs.state`;
  const admin = kafka.admin();
  await ensureTopics(admin, [{ topic, partitions: 3, compacted: true }]);
  await admin.disconnect();

  const template = reduce(undefined, { kind: 'submit', jobId: 'x', tenant: 'bench', spec: aSpec({ items: ['foo', 'bar', 'baz'], parallelism: 2 }), specHash: 'h'.repeat(64) }, new Date());
  if (!template) throw new Error('no template');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  const writeStarted = performance.now();
  const batch = 5_000;
  for (let i = 0; i < count; i += batch) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const jobId = `job-${j}`;
      messages.push({ key: jobId, value: encodeMessage(JobRecord, { ...template.record, jobId }) });
    }
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
  const writeSeconds = (performance.now() - writeStarted) / 1000;

  const store = new JobStore();
  const log = new KafkaStateLog({ kafka, logger, transactionalId: ns, topics: { state: topic } });
  const started = performance.now();
  const read =
    arg('full-decode', 0) === 1
      ? await log.readRecords((jobId, record) => (record ? store.put(record) : store.remove(jobId)))
      : await log.readEncodedRecords((jobId, encoded) => (encoded ? store.putEncoded(jobId, encoded.bytes, encoded.contentType) : store.remove(jobId)));
  const seconds = (performance.now() - started) / 1000;
  // What the first admission cycle after a takeover reads: the per-queue index, no decoding.
  const snapshotStarted = performance.now();
  const pending = store.queueSnapshot({ name: 'batch' } as Parameters<JobStore['queueSnapshot']>[0]).pending.size;
  const snapshotMs = performance.now() - snapshotStarted;
  const heap = process.memoryUsage();
  console.log(
    JSON.stringify({
      records: count,
      read,
      jobs: store.size,
      fullDecode: arg('full-decode', 0) === 1,
      restoreSeconds: Number(seconds.toFixed(1)),
      pending,
      snapshotMs: Math.round(snapshotMs),
      recordsPerSecond: Math.round(read / seconds),
      writeSeconds: Number(writeSeconds.toFixed(1)),
      rssMiB: Math.round(heap.rss / 2 ** 20),
      heapUsedMiB: Math.round(heap.heapUsed / 2 ** 20),
    }),
  );
  await deleteNamespaceTopics(ns);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
