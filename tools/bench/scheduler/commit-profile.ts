/**
 * Where the time of a state commit goes: runs back-to-back commits of N submits (like
 * commit-latency.ts) and reports, per Kafka API, how many requests one commit makes and how long
 * they take (kafkajs request instrumentation), plus retries seen.
 *
 *   npx tsx tools/bench/scheduler/commit-profile.ts [--submits 64] [--commits 50]
 */
import { createKafka, createLogger, withProducerRequestListener } from '@wharf/platform';
import { reduce } from '../../../apps/scheduler/src/domain/job-reducer';
import { aSpec } from '../../../apps/scheduler/src/domain/test-builders';
import { KafkaStateLog } from '../../../apps/scheduler/src/state/kafka-state-log';
import { brokers, deleteNamespaceTopics, percentile } from './bench-support';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const logger = createLogger({ service: 't', level: 'warn' });

async function main(): Promise<void> {
  const submits = arg('submits', 64);
  const commits = arg('commits', 50);
  const ns = 'profile-' + Date.now();
  const kafka = createKafka({ brokers: [brokers()], clientId: 't', logger: logger.child({}, { level: 'fatal' }) });
  const requests = new Map<string, number[]>();
  let recording = false;
  const instrumented = withProducerRequestListener(kafka, ({ apiName, duration }) => {
    if (!recording) return;
    const list = requests.get(apiName) ?? [];
    list.push(duration);
    requests.set(apiName, list);
  });
  const log = new KafkaStateLog({ kafka: instrumented, logger, transactionalId: ns, topics: { state: ns + '.s', events: ns + '.e', launch: ns + '.l', workflows: ns + '.w', workflowEvents: ns + '.we' } });
  await log.open();
  const times: number[] = [];
  for (let b = 0; b < commits + 5; b++) {
    const records = [];
    const events = [];
    for (let i = 0; i < submits; i++) {
      const tr = reduce(undefined, { kind: 'submit', jobId: `j-${b}-${i}`, tenant: 't', spec: aSpec(), specHash: 'h' }, new Date());
      if (!tr) continue;
      records.push({ jobId: tr.record.jobId, record: tr.record });
      events.push(...tr.events);
    }
    recording = b >= 5;
    const t = performance.now();
    await log.commit({ records, events, commands: [] });
    if (recording) times.push(performance.now() - t);
  }
  await log.close();
  await deleteNamespaceTopics(ns);
  times.sort((a, b) => a - b);
  const perApi = Object.fromEntries(
    [...requests].map(([api, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return [api, { perCommit: Number((list.length / commits).toFixed(2)), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), totalPerCommitMs: Number((list.reduce((s, d) => s + d, 0) / commits).toFixed(1)) }];
    }),
  );
  console.log(JSON.stringify({ submits, commits, p50Ms: Number(percentile(times, 50).toFixed(1)), p99Ms: Number(percentile(times, 99).toFixed(1)), perApi }, null, 1));
}
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
