/**
 * stream-ingest throughput: 1,000,000 NDJSON lines of ~200 bytes from a local HTTP streaming
 * server into Kafka (acks=all, 3 partitions), against two peers on the same broker in the same
 * run: Kafka's own kafka-producer-perf-test (same record size, acks=all) and a raw kafkajs
 * producer loop (same batch size and settings). Blocks alternate A B C, C B A…, `--reps` times.
 *
 *   node tools/build/bundle.mjs apps/stream-ingest
 *   npx tsx tools/bench/stream-ingest/throughput-bench.ts [--records 1000000] [--reps 2]
 */
import { join } from 'node:path';
import { createTopic, execFileAsync, ndjsonUpstream, nodeFlagsArg, repo, sleep, startBroker, startStreamIngest } from './bench-kit';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The 1-minute load average of the machine, for the record next to each figure. */
function load(): number {
  return Number(loadavg()[0]?.toFixed(2));
}

async function ours(brokers: string[], installDir: string, records: number, rep: number) {
  const topic = `bench-si-${rep}`;
  await createTopic(installDir, brokers, topic);
  const upstream = await ndjsonUpstream(records);
  const si = await startStreamIngest({ brokers, url: upstream.url, topic, nodeFlags: nodeFlagsArg() });
  let peakRss = 0;
  let started = 0;
  let cpuAtStart = 0;
  let outAtStart = 0;
  let batchesAtStart = 0;
  for (;;) {
    const out = await si.metric('wharf_stream_records_out_total');
    peakRss = Math.max(peakRss, si.rssMb());
    if (out > 0 && started === 0) {
      started = Date.now();
      cpuAtStart = si.cpuSeconds();
      outAtStart = out;
      batchesAtStart = await si.metric('wharf_stream_sink_batches_total');
    }
    if (out >= records) break;
    // A scrape costs stream-ingest a few ms of CPU (process metrics): poll often only where
    // the timing is read (the first acknowledged record, the last 5 %), every 0.5 s between.
    await sleep(started === 0 || out >= records * 0.95 ? 50 : 500);
  }
  const finished = Date.now();
  const cpu = si.cpuSeconds() - cpuAtStart;
  const batches = (await si.metric('wharf_stream_sink_batches_total')) - batchesAtStart;
  // From the first acknowledged record on (process start and the first connect left out):
  // the records acknowledged after that moment, over the time they took.
  const seconds = (finished - started) / 1000;
  const measured = records - outAtStart;
  si.child.kill('SIGTERM');
  await new Promise((r) => si.child.once('exit', r));
  await upstream.close();
  return {
    records,
    seconds,
    msgsPerSec: measured / seconds,
    peakRssMb: peakRss,
    cpuUsPerRecord: (cpu * 1e6) / measured,
    recordsPerBatch: batches > 0 ? measured / batches : 0,
  };
}

async function perfTest(brokers: string[], installDir: string, records: number, rep: number) {
  const topic = `bench-perf-${rep}`;
  await createTopic(installDir, brokers, topic);
  // bash -c 'exec …; then the child's CPU via `times`': the JVM's user+sys seconds.
  const script = `"${join(installDir, 'bin', 'kafka-producer-perf-test')}" --topic ${topic} --num-records ${records} --record-size 200 --throughput -1 --producer-props bootstrap.servers=${brokers.join(',')} acks=all; times`;
  const child = spawn('bash', ['-c', script], { env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx512m' } });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  await new Promise((r) => child.once('exit', r));
  const lines = stdout.trim().split('\n');
  // `times` prints the shell's, then the children's "user sys" line last.
  const childTimes = (lines.pop() ?? '').trim().split(/\s+/).map((t) => {
    const m = /(\d+)m([\d.]+)s/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  });
  lines.pop();
  const summary = lines.filter((l) => l.includes('records sent')).pop() ?? '';
  const rate = Number(/([\d.]+) records\/sec/.exec(summary)?.[1] ?? 0);
  const cpu = (childTimes[0] ?? 0) + (childTimes[1] ?? 0);
  return { records, msgsPerSec: rate, summary, cpuUsPerRecord: (cpu * 1e6) / records };
}

async function rawKafkajs(brokers: string[], installDir: string, records: number, rep: number) {
  const topic = `bench-raw-${rep}`;
  await createTopic(installDir, brokers, topic);
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'raw-kafkajs-producer.ts'), brokers.join(','), topic, String(records), '200', '2000'],
    { cwd: repo, maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { msgsPerSec: number; seconds: number; rssMb: number; cpuUsPerRecord: number };
}

async function main(): Promise<void> {
  const records = arg('records', 1_000_000);
  const reps = arg('reps', 2);
  const { kafka, installDir } = await startBroker();
  const brokers = kafka.brokers;
  const results: Record<string, number[]> = { ours: [], perfTest: [], rawKafkajs: [], oursRss: [], oursCpu: [], perfTestCpu: [], rawKafkajsCpu: [], oursBatch: [], load: [] };
  try {
    for (let rep = 0; rep < reps; rep++) {
      const runA = async (): Promise<void> => {
        const a = await ours(brokers, installDir, records, rep);
        results['ours']?.push(a.msgsPerSec);
        results['oursRss']?.push(a.peakRssMb);
        results['oursCpu']?.push(a.cpuUsPerRecord);
        results['oursBatch']?.push(a.recordsPerBatch);
        results['load']?.push(load());
        process.stdout.write(`rep ${rep} stream-ingest: ${a.msgsPerSec.toFixed(0)} msg/s, ${a.seconds.toFixed(1)} s, ${a.cpuUsPerRecord.toFixed(1)} CPU-µs/record, ${a.recordsPerBatch.toFixed(0)} records/batch, peak RSS ${a.peakRssMb.toFixed(0)} MB, load ${load()}\n`);
      };
      const runB = async (): Promise<void> => {
        const b = await perfTest(brokers, installDir, records, rep);
        results['perfTest']?.push(b.msgsPerSec);
        results['perfTestCpu']?.push(b.cpuUsPerRecord);
        process.stdout.write(`rep ${rep} kafka-producer-perf-test: ${b.summary} (${b.cpuUsPerRecord.toFixed(1)} CPU-µs/record), load ${load()}\n`);
      };
      const runC = async (): Promise<void> => {
        const c = await rawKafkajs(brokers, installDir, records, rep);
        results['rawKafkajs']?.push(c.msgsPerSec);
        results['rawKafkajsCpu']?.push(c.cpuUsPerRecord);
        process.stdout.write(`rep ${rep} raw kafkajs loop: ${c.msgsPerSec.toFixed(0)} msg/s, ${c.seconds.toFixed(1)} s, ${c.cpuUsPerRecord.toFixed(1)} CPU-µs/record, RSS ${c.rssMb.toFixed(0)} MB, load ${load()}\n`);
      };
      // A B C, then C B A: on a machine whose load drifts, no contestant always goes first.
      for (const run of rep % 2 === 0 ? [runA, runB, runC] : [runC, runB, runA]) await run();
    }
  } finally {
    await kafka.stop();
  }
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  const oursRate = median(results['ours'] ?? []);
  const summary = {
    records,
    reps,
    recordBytes: 200,
    acks: 'all',
    partitions: 3,
    streamIngestMsgsPerSec: oursRate,
    kafkaProducerPerfTestMsgsPerSec: median(results['perfTest'] ?? []),
    rawKafkajsMsgsPerSec: median(results['rawKafkajs'] ?? []),
    ratioVsPerfTest: oursRate / median(results['perfTest'] ?? []),
    ratioVsRawKafkajs: oursRate / median(results['rawKafkajs'] ?? []),
    medianPerRepRatioVsPerfTest: median((results['ours'] ?? []).map((o, i) => o / (results['perfTest']?.[i] ?? 1))),
    medianPerRepRatioVsRawKafkajs: median((results['ours'] ?? []).map((o, i) => o / (results['rawKafkajs']?.[i] ?? 1))),
    streamIngestPeakRssMb: Math.max(...(results['oursRss'] ?? [0])),
    cpuUsPerRecord: {
      streamIngest: median(results['oursCpu'] ?? []),
      kafkaProducerPerfTest: median(results['perfTestCpu'] ?? []),
      rawKafkajs: median(results['rawKafkajsCpu'] ?? []),
    },
    streamIngestRecordsPerBatch: median(results['oursBatch'] ?? []),
    perRepRatios: (results['ours'] ?? []).map((o, i) => ({
      vsPerfTest: o / (results['perfTest']?.[i] ?? 1),
      vsRawKafkajs: o / (results['rawKafkajs']?.[i] ?? 1),
    })),
    raw: results,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
