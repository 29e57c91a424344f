/**
 * Latency of one state commit (a Kafka transaction over jobs.state and job-events) with 64
 * submits, back to back: the floor under SubmitJob latency.
 *
 *   npx tsx tools/bench/scheduler/commit-latency.ts
 */
import { createKafka, createLogger } from '@wharf/platform';
import { reduce } from '../../../apps/scheduler/src/domain/job-reducer';
import { aSpec } from '../../../apps/scheduler/src/domain/test-builders';
import { KafkaStateLog } from '../../../apps/scheduler/src/state/kafka-state-log';
import { brokers, deleteNamespaceTopics, percentile } from './bench-support';
const logger = createLogger({ service: 't', level: 'warn' });
async function main() {
  const ns = 'timing-' + Date.now();
  const log = new KafkaStateLog({ kafka: createKafka({ brokers: [brokers()], clientId: 't', logger: logger.child({}, { level: 'fatal' }) }), logger, transactionalId: ns, topics: { state: ns + '.s', events: ns + '.e', launch: ns + '.l' } });
  let t = performance.now();
  await log.open();
  const openMs = performance.now() - t;
  const times: number[] = [];
  for (let b = 0; b < 50; b++) {
    const records = [];
    const events = [];
    for (let i = 0; i < 64; i++) {
      const tr = reduce(undefined, { kind: 'submit', jobId: `j-${b}-${i}`, tenant: 't', spec: aSpec(), specHash: 'h' }, new Date());
      if (!tr) continue;
      records.push({ jobId: tr.record.jobId, record: tr.record }); events.push(...tr.events);
    }
    t = performance.now();
    await log.commit({ records, events, commands: [] });
    times.push(performance.now() - t);
  }
  await log.close();
  await deleteNamespaceTopics(ns);
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ openMs: Math.round(openMs), commits: times.length, p50Ms: Number(percentile(times, 50).toFixed(1)), p99Ms: Number(percentile(times, 99).toFixed(1)) }));
}
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
