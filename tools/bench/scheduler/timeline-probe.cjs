// Preload for the scheduler under submit-bench.ts: records its GC pauses (PerformanceObserver)
// and event-loop stalls (a 2 ms interval timer that fired more than 5 ms late), with wall-clock
// times, and writes them to $WHARF_TIMELINE_OUT (JSON) when the process stops.
//
//   WHARF_TIMELINE_OUT=/tmp/sched.json WHARF_BENCH_NODE_FLAGS="--require $PWD/tools/bench/scheduler/timeline-probe.cjs" \
//     npx tsx tools/bench/scheduler/submit-bench.ts --rate 2000 --client h2 --timeline /tmp/client.json
//   npx tsx tools/bench/scheduler/timeline-report.ts /tmp/client.json /tmp/sched.json
//
// The timer costs the scheduler a little CPU: compare figures taken with it only with each other.
'use strict';
const { PerformanceObserver, performance, constants } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

const out = process.env.WHARF_TIMELINE_OUT || `/tmp/wharf-timeline-${process.pid}.json`;
const kinds = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const gcs = [];
const stalls = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([performance.timeOrigin + e.startTime, e.duration, kinds[e.detail?.kind] ?? String(e.detail?.kind)]);
}).observe({ entryTypes: ['gc'] });
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > 5) stalls.push([performance.timeOrigin + last, now - last]);
  last = now;
}, 2).unref();
const write = () => writeFileSync(out, JSON.stringify({ gcs, stalls }));
process.on('SIGTERM', write); // the scheduler's own handler stops it; 'exit' writes the rest
process.on('exit', write);
