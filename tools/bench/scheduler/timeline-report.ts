/**
 * Which pauses the slow SubmitJob calls of a submit-bench.ts run met: groups the calls slower
 * than a threshold into bursts (calls sent within 60 ms of each other) and lists, per burst,
 * the scheduler's GC pauses and event-loop stalls (timeline-probe.cjs) and the load
 * generator's own GC pauses around it.
 *
 *   npx tsx tools/bench/scheduler/timeline-report.ts <client.json> <scheduler.json> [--over 50]
 */
import { readFileSync } from 'node:fs';
import { percentile } from './bench-support';

type Span = [start: number, ms: number, kind?: string];
const [clientFile, schedulerFile] = process.argv.slice(2, 4);
if (!clientFile || !schedulerFile) throw new Error('usage: timeline-report.ts <client.json> <scheduler.json> [--over ms]');
const overIndex = process.argv.indexOf('--over');
const over = overIndex >= 0 ? Number(process.argv[overIndex + 1]) : 50;
const client = JSON.parse(readFileSync(clientFile, 'utf8')) as { calls: Array<[number, number]>; gcs: Span[] };
const scheduler = JSON.parse(readFileSync(schedulerFile, 'utf8')) as { gcs: Span[]; stalls: Span[] };

const calls = [...client.calls].sort((a, b) => a[0] - b[0]);
const t0 = calls[0]?.[0] ?? 0;
const sorted = calls.map(([, ms]) => ms).sort((a, b) => a - b);
console.log(`${calls.length} calls, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, ${sorted.filter((ms) => ms > over).length} over ${over} ms`);

const bursts: Array<{ from: number; to: number; slowest: number; count: number }> = [];
for (const [sent, ms] of calls) {
  if (ms <= over) continue;
  const last = bursts[bursts.length - 1];
  if (last && sent - last.to < 60) Object.assign(last, { to: sent, slowest: Math.max(last.slowest, ms), count: last.count + 1 });
  else bursts.push({ from: sent, to: sent, slowest: ms, count: 1 });
}
const near = (spans: Span[], from: number, to: number, minMs: number) =>
  spans
    .filter(([start, ms]) => start + ms >= from && start <= to && ms >= minMs)
    .map(([start, ms, kind]) => `${kind ?? ''} ${Math.round(ms)} ms @${Math.round(start - t0)}`.trim());
for (const b of bursts) {
  const from = b.from - 80;
  const to = b.to + 10;
  console.log(
    `${Math.round(b.from - t0)}..${Math.round(b.to - t0)} ms: ${b.count} slow, slowest ${b.slowest.toFixed(0)} ms | scheduler GC ${near(scheduler.gcs, from, to, 3).join(', ') || '-'} | scheduler stalls ${near(scheduler.stalls, from, to, 8).join(', ') || '-'} | load generator GC ${near(client.gcs, from, b.to + 80, 3).join(', ') || '-'}`,
  );
}
const total = (spans: Span[]) => Math.round(spans.reduce((sum, [, ms]) => sum + ms, 0));
console.log(`scheduler: ${scheduler.gcs.length} GC pauses, ${total(scheduler.gcs)} ms; load generator: ${client.gcs.length} GC pauses, ${total(client.gcs)} ms`);
