/**
 * Backpressure under a frozen broker: NDJSON at full speed into stream-ingest; after 10 s the
 * broker is frozen (SIGSTOP) for 60 s, then resumed. Reports stream-ingest's peak RSS (goal
 * < 256 MB) and checks that every record the sink acknowledged (and in fact every line the
 * upstream sent) is in the topic afterwards.
 *
 *   node tools/build/bundle.mjs apps/stream-ingest
 *   npx tsx tools/bench/stream-ingest/freeze-bench.ts [--freeze-seconds 60] [--runtime-env <file>|none] [--node-flags '--cpu-prof']
 *
 * stream-ingest runs with the Deployment's runtime env (deploy/base/stream-ingest/node-runtime.env:
 * MALLOC_ARENA_MAX, NODE_OPTIONS) unless --runtime-env names another file or `none` (Node's
 * defaults); --node-flags adds flags on top.
 */
import { Kafka, logLevel } from 'kafkajs';
import { loadavg } from 'node:os';
import { createTopic, ndjsonUpstream, nodeFlagsArg, runtimeEnvArg, sleep, startBroker, startStreamIngest, type MemoryBreakdown } from './bench-kit';

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const i = process.argv.indexOf('--freeze-seconds');
  const freezeSeconds = i >= 0 ? Number(process.argv[i + 1]) : 60;
  const { kafka, installDir } = await startBroker();
  const brokers = kafka.brokers;
  const topic = 'bench-freeze';
  await createTopic(installDir, brokers, topic);
  const upstream = await ndjsonUpstream(Infinity);
  const nodeFlags = nodeFlagsArg();
  const runtimeEnv = runtimeEnvArg();
  process.stdout.write(`runtime env: ${runtimeEnv.label}; node flags: ${nodeFlags.join(' ') || '(none)'}; load average ${load()}\n`);
  const loadAt: Record<string, string> = { start: load() };
  const si = await startStreamIngest({ brokers, url: upstream.url, topic, nodeFlags, runtimeEnv: runtimeEnv.env });
  let peak = { before: 0, during: 0, after: 0 };
  // Where the memory is at the highest RSS of each phase (heap spaces from /metrics, once a second).
  const atPeak: Partial<Record<keyof typeof peak, MemoryBreakdown>> = {};
  let tick = 0;
  const sample = async (phase: keyof typeof peak): Promise<void> => {
    const rss = si.rssMb();
    if (tick++ % 4 === 0) {
      const breakdown = await si.memory();
      if (breakdown.rssMb >= (atPeak[phase]?.rssMb ?? 0)) atPeak[phase] = breakdown;
    }
    peak = { ...peak, [phase]: Math.max(peak[phase], rss) };
  };
  try {
    for (let t = 0; t < 40; t++) {
      await sample('before');
      await sleep(250);
    }
    const outBefore = await si.metric('wharf_stream_records_out_total');
    process.stdout.write(`full input for 10 s: ${outBefore} records acknowledged, RSS ${peak.before.toFixed(0)} MB\n`);
    kafka.process.pause();
    const sentAtFreeze = upstream.sent();
    loadAt['freeze'] = load();
    for (let t = 0; t < freezeSeconds * 4; t++) {
      await sample('during');
      await sleep(250);
    }
    const sentDuringFreeze = upstream.sent() - sentAtFreeze;
    const inFlight = await si.metric('wharf_stream_in_flight_records');
    process.stdout.write(
      `broker frozen ${freezeSeconds} s: peak RSS ${peak.during.toFixed(0)} MB, in flight ${inFlight}, upstream sent ${sentDuringFreeze} lines while frozen (TCP backpressure)\n`,
    );
    kafka.process.resume();
    loadAt['resume'] = load();
    for (let t = 0; t < 40; t++) {
      await sample('after');
      await sleep(250);
    }
    await upstream.close(); // the upstream stops; what it sent must all arrive
    const total = upstream.sent();
    let out = 0;
    let stalls = 0;
    for (let last = -1; ; ) {
      out = await si.metric('wharf_stream_records_out_total');
      const received = await si.metric('wharf_stream_records_in_total');
      if (out >= received && received > 0 && (await si.metric('wharf_stream_in_flight_records')) === 0) break;
      stalls = out === last ? stalls + 1 : 0;
      if (stalls > 600) throw new Error(`no progress: out ${out} of ${received}`);
      last = out;
      await sleep(100);
    }
    const receivedBySi = await si.metric('wharf_stream_records_in_total');
    process.stdout.write(`after resume: upstream sent ${total} lines, stream-ingest received ${receivedBySi}, acknowledged ${out}\n`);

    // Every line stream-ingest acknowledged is in the topic (read it all back, by seq).
    const seen = new Uint8Array(total);
    let records = 0;
    const consumer = new Kafka({ clientId: 'bench-check', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `check-${Date.now()}`, maxBytesPerPartition: 16 << 20 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let distinct = 0;
    // Where each duplicate is (and its first copy), to tell a resent batch from anything else.
    const firstAt = new Map<number, string>();
    const duplicateAt: { seq: number; first: string; again: string }[] = [];
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          records++;
          const seq = Number(/"seq":(\d+)/.exec(m.value?.toString() ?? '')?.[1] ?? -1);
          const at = `${batch.partition}@${m.offset}`;
          if (seq >= 0 && seq < total && seen[seq] === 0) {
            seen[seq] = 1;
            distinct++;
            firstAt.set(seq, at);
          } else if (duplicateAt.length < 5000) {
            duplicateAt.push({ seq, first: firstAt.get(seq) ?? '?', again: at });
          }
        }
      },
    });
    for (let waited = 0; distinct < receivedBySi && waited < 600; waited++) await sleep(500);
    await consumer.disconnect();
    const missing = receivedBySi - distinct;
    // The lines stream-ingest received are the upstream's first `receivedBySi` (in order).
    const missingSeqs: number[] = [];
    for (let seq = 0; seq < receivedBySi; seq++) if (seen[seq] === 0) missingSeqs.push(seq);
    const runs = (xs: number[]): string[] => {
      const out: string[] = [];
      for (let i = 0; i < xs.length && out.length < 20; ) {
        let j = i;
        while (j + 1 < xs.length && (xs[j + 1] as number) - (xs[j] as number) <= 3) j++;
        out.push(`${xs[i]}–${xs[j]} (${j - i + 1})`);
        i = j + 1;
      }
      return out;
    };
    const summary = {
      freezeSeconds,
      runtimeEnv: runtimeEnv.label,
      nodeFlags,
      peakRssMb: { beforeFreeze: peak.before, duringFreeze: peak.during, afterResume: peak.after },
      memoryAtPeak: atPeak,
      rssGoalMb: 256,
      upstreamLinesSent: total,
      streamIngestReceived: receivedBySi,
      acknowledged: out,
      inTopicDistinct: distinct,
      inTopicRecords: records,
      duplicates: records - distinct,
      missingAcknowledged: missing,
      // Runs of seq numbers (gaps ≤ 3: one partition's share of a batch is every 3rd line).
      missingSeqRuns: runs(missingSeqs),
      duplicateSeqRuns: runs(duplicateAt.map((d) => d.seq).sort((a, b) => a - b)),
      duplicateSamples: duplicateAt.slice(0, 5),
      loadAverage: { ...loadAt, end: load() },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    kafka.process.resume();
    si.child.kill('SIGTERM');
    await new Promise((r) => si.child.once('exit', r));
    await kafka.stop();
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
