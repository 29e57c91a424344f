/**
 * One admission cycle over 100,000 queued jobs in 100 queues (the pure decision function on a
 * snapshot), 30 runs: prints the median and worst. The queues' waiting jobs are kept in order
 * by the store as they arrive (PendingOrder); building that order for all 100,000 jobs at once
 * is timed on its own (`orderBuildMs`).
 *
 *   npx tsx tools/bench/scheduler/admission-bench.ts
 */
import { PendingOrder } from '../../../apps/scheduler/src/domain/pending-order';
import { decideAdmissions, type PendingJob } from '../../../apps/scheduler/src/domain/queue-admission';
import { queueSchema } from '../../../apps/scheduler/src/domain/queue-config';
import { percentile } from './bench-support';

let seq = 0;
const built = performance.now();
const queues = Array.from({ length: 100 }, (_, q) => ({
  config: queueSchema.parse({ name: `q${q}`, weight: 1 + (q % 4), quota: { cpu: 50 } }),
  pending: PendingOrder.of(Array.from({ length: 1_000 }, (_, i): PendingJob => ({
    jobId: `q${q}-j${i}`,
    priority: i % 7,
    createdAtMs: 1_000_000 - i,
    seq: seq++,
    demand: { cpu: 1, memory: 2 ** 28, gpu: 0 },
  }))),
  used: { cpu: 0, memory: 0, gpu: 0 },
  running: 0,
}));
const orderBuildMs = performance.now() - built;
const snapshot = { queues, capacity: { cpu: 2_000, memory: Infinity, gpu: Infinity, maxRunning: Infinity }, maxAdmissions: 1_000 };
const times: number[] = [];
let admitted = 0;
for (let i = 0; i < 30; i++) {
  const started = performance.now();
  admitted = decideAdmissions(snapshot, new Date()).admitted.length;
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ queued: 100_000, queues: 100, admittedPerCycle: admitted, bestMs: Number((times[0] ?? 0).toFixed(1)), medianMs: Number(percentile(times, 50).toFixed(1)), worstMs: Number((times[times.length - 1] ?? 0).toFixed(1)), orderBuildMs: Number(orderBuildMs.toFixed(1)) }));
