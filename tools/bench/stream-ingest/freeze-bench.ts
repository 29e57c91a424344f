/**
 * Backpressure under a frozen broker: NDJSON at full speed into stream-ingest; after 10 s the
 * broker is frozen (SIGSTOP) for 60 s, then resumed. Reports stream-ingest's peak RSS (goal
 * < 256 MB) and checks that every record the sink acknowledged (and in fact every line the
 * upstream sent) is in the topic afterwards.
 *
 *   node tools/build/bundle.mjs apps/stream-ingest
 *   npx tsx tools/bench/stream-ingest/freeze-bench.ts [--freeze-seconds 60] [--node-flags '--max-old-space-size=128']
 */
import { Kafka, logLevel } from 'kafkajs';
import { createTopic, ndjsonUpstream, nodeFlagsArg, sleep, startBroker, startStreamIngest } from './bench-kit';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--freeze-seconds');
  const freezeSeconds = i >= 0 ? Number(process.argv[i + 1]) : 60;
  const { kafka, installDir } = await startBroker();
  const brokers = kafka.brokers;
  const topic = 'bench-freeze';
  await createTopic(installDir, brokers, topic);
  const upstream = await ndjsonUpstream(Infinity);
  const nodeFlags = nodeFlagsArg();
  const si = await startStreamIngest({ brokers, url: upstream.url, topic, nodeFlags });
  let peak = { before: 0, during: 0, after: 0 };
  const sample = (phase: keyof typeof peak) => (peak = { ...peak, [phase]: Math.max(peak[phase], si.rssMb()) });
  try {
    for (let t = 0; t < 40; t++) {
      sample('before');
      await sleep(250);
    }
    const outBefore = await si.metric('wharf_stream_records_out_total');
    process.stdout.write(`full input for 10 s: ${outBefore} records acknowledged, RSS ${peak.before.toFixed(0)} MB\n`);
    kafka.process.pause();
    const sentAtFreeze = upstream.sent();
    for (let t = 0; t < freezeSeconds * 4; t++) {
      sample('during');
      await sleep(250);
    }
    const sentDuringFreeze = upstream.sent() - sentAtFreeze;
    const inFlight = await si.metric('wharf_stream_in_flight_records');
    process.stdout.write(
      `broker frozen ${freezeSeconds} s: peak RSS ${peak.during.toFixed(0)} MB, in flight ${inFlight}, upstream sent ${sentDuringFreeze} lines while frozen (TCP backpressure)\n`,
    );
    kafka.process.resume();
    for (let t = 0; t < 40; t++) {
      sample('after');
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
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          records++;
          const seq = Number(/"seq":(\d+)/.exec(m.value?.toString() ?? '')?.[1] ?? -1);
          if (seq >= 0 && seq < total && seen[seq] === 0) {
            seen[seq] = 1;
            distinct++;
          }
        }
      },
    });
    for (let waited = 0; distinct < receivedBySi && waited < 600; waited++) await sleep(500);
    await consumer.disconnect();
    const missing = receivedBySi - distinct;
    const summary = {
      freezeSeconds,
      nodeFlags,
      peakRssMb: { beforeFreeze: peak.before, duringFreeze: peak.during, afterResume: peak.after },
      rssGoalMb: 256,
      upstreamLinesSent: total,
      streamIngestReceived: receivedBySi,
      acknowledged: out,
      inTopicDistinct: distinct,
      inTopicRecords: records,
      duplicates: records - distinct,
      missingAcknowledged: missing,
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
