/**
 * stream-ingest throughput: 1,000,000 NDJSON lines of ~200 bytes from a local HTTP streaming
 * server into Kafka (acks=all, 3 partitions), against two peers on the same broker in the same
 * run: Kafka's own kafka-producer-perf-test (same record size, acks=all) and a raw kafkajs
 * producer loop (same batch size and settings) twice: re-sending one prebuilt batch (kafkajs'
 * cost alone), and with fresh records (the upstream's lines, new in every batch). Blocks
 * alternate A B C D, D C B A…, `--reps` times.
 *
 *   node tools/build/bundle.mjs apps/stream-ingest
 *   npx tsx tools/bench/stream-ingest/throughput-bench.ts [--records 1000000] [--reps 2] [--warmup 1000000] [--runtime-env <file>|none] [--node-flags '…'] [--probe]
 *
 * stream-ingest runs with the Deployment's runtime env (deploy/base/stream-ingest/node-runtime.env:
 * MALLOC_ARENA_MAX, NODE_OPTIONS) unless --runtime-env names another file or `none` (Node's
 * defaults); --node-flags adds flags on top. --probe preloads produce-probe.cjs into stream-ingest
 * and the raw kafkajs loop and prints where their wall time per produce request goes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOf, createTopic, execFileAsync, machineCpu, ndjsonUpstream, nodeFlagsArg, probeScript, repo, runtimeEnvArg, sleep, startBroker, startStreamIngest } from './bench-kit';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The 1-minute load average of the machine, for the record next to each figure. */
function load(): number {
  return Number(loadavg()[0]?.toFixed(2));
}

const probe = process.argv.includes('--probe');
const probeDir = probe ? mkdtempSync(join(tmpdir(), 'bench-probe-')) : '';

/** The probe's report of a contestant's process (`--probe`), or undefined. */
function probeReport(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

async function ours(brokers: string[], installDir: string, records: number, rep: number, brokerPid: number | undefined) {
  const topic = `bench-si-${rep}`;
  await createTopic(installDir, brokers, topic);
  const upstream = await ndjsonUpstream(records);
  const probeOut = join(probeDir, `si-${rep}.json`);
  const si = await startStreamIngest({
    brokers,
    url: upstream.url,
    topic,
    nodeFlags: [...(probe ? ['--require', probeScript] : []), ...nodeFlagsArg()],
    ...(probe ? { extraEnv: { WHARF_PROBE_OUT: probeOut } } : {}),
  });
  let peakRss = 0;
  let started = 0;
  let cpuAtStart = 0;
  let outAtStart = 0;
  let batchesAtStart = 0;
  let brokerCpuAtStart = 0;
  let driverCpuAtStart = 0;
  let machineAtStart = { busy: 0, total: 0 };
  for (;;) {
    const out = await si.metric('wharf_stream_records_out_total');
    peakRss = Math.max(peakRss, si.rssMb());
    if (out > 0 && started === 0) {
      started = Date.now();
      cpuAtStart = si.cpuSeconds();
      outAtStart = out;
      batchesAtStart = await si.metric('wharf_stream_sink_batches_total');
      brokerCpuAtStart = cpuSecondsOf(brokerPid);
      driverCpuAtStart = process.cpuUsage().user + process.cpuUsage().system;
      machineAtStart = machineCpu();
    }
    if (out >= records) break;
    // A scrape costs stream-ingest a few ms of CPU (process metrics): poll often only where
    // the timing is read (the first acknowledged record, the last 5 %), every 0.5 s between.
    await sleep(started === 0 || out >= records * 0.95 ? 50 : 500);
  }
  const finished = Date.now();
  const cpu = si.cpuSeconds() - cpuAtStart;
  const brokerCpu = cpuSecondsOf(brokerPid) - brokerCpuAtStart;
  const usage = process.cpuUsage();
  const driverCpu = (usage.user + usage.system - driverCpuAtStart) / 1e6;
  const machine = machineCpu();
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
    brokerCpuUsPerRecord: (brokerCpu * 1e6) / measured,
    // The driver is the HTTP upstream here (and the bench's polling): it shares the cores.
    upstreamCpuUsPerRecord: (driverCpu * 1e6) / measured,
    machineBusy: (machine.busy - machineAtStart.busy) / Math.max(1, machine.total - machineAtStart.total),
    probe: probe ? probeReport(probeOut) : undefined,
  };
}

async function perfTest(brokers: string[], installDir: string, records: number, rep: number, brokerPid: number | undefined) {
  const topic = `bench-perf-${rep}`;
  await createTopic(installDir, brokers, topic);
  const broker0 = cpuSecondsOf(brokerPid);
  const machine0 = machineCpu();
  // bash -c 'exec …; then the child's CPU via `times`': the JVM's user+sys seconds.
  const script = `"${join(installDir, 'bin', 'kafka-producer-perf-test')}" --topic ${topic} --num-records ${records} --record-size 200 --throughput -1 --producer-props bootstrap.servers=${brokers.join(',')} acks=all; times`;
  const child = spawn('bash', ['-c', script], { env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx512m' } });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  await new Promise((r) => child.once('exit', r));
  const brokerCpu = cpuSecondsOf(brokerPid) - broker0;
  const machine1 = machineCpu();
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
  return {
    records,
    msgsPerSec: rate,
    summary,
    cpuUsPerRecord: (cpu * 1e6) / records,
    // Over the whole block (JVM start included), not only the timed part.
    brokerCpuUsPerRecord: (brokerCpu * 1e6) / records,
    machineBusy: (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total),
  };
}

async function rawKafkajs(brokers: string[], installDir: string, records: number, rep: number, brokerPid: number | undefined, mode: 'prebuilt' | 'fresh') {
  const topic = `bench-raw-${mode}-${rep}`;
  await createTopic(installDir, brokers, topic);
  const broker0 = cpuSecondsOf(brokerPid);
  const machine0 = machineCpu();
  const probeOut = join(probeDir, `raw-${mode}-${rep}.json`);
  const { stdout } = await execFileAsync(
    process.execPath,
    [...(probe ? ['--require', probeScript] : []), '--import', 'tsx', join(__dirname, 'raw-kafkajs-producer.ts'), brokers.join(','), topic, String(records), '200', '2000', mode],
    { cwd: repo, maxBuffer: 1 << 20, env: { ...process.env, ...(probe ? { WHARF_PROBE_OUT: probeOut } : {}) } },
  );
  const brokerCpu = cpuSecondsOf(brokerPid) - broker0;
  const machine1 = machineCpu();
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { msgsPerSec: number; seconds: number; rssMb: number; cpuUsPerRecord: number };
  return {
    ...result,
    // Over the whole block (tsx start and connect included), not only the timed loop.
    brokerCpuUsPerRecord: (brokerCpu * 1e6) / records,
    machineBusy: (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total),
    probe: probe ? probeReport(probeOut) : undefined,
  };
}

async function main(): Promise<void> {
  const records = arg('records', 1_000_000);
  const reps = arg('reps', 2);
  const runtimeEnv = runtimeEnvArg();
  process.stdout.write(`stream-ingest runtime env: ${runtimeEnv.label}; node flags: ${nodeFlagsArg().join(' ') || '(none)'}; load ${load()}\n`);
  const { kafka, installDir } = await startBroker();
  const brokers = kafka.brokers;
  // The broker's JIT warms up on its first million records or so: without this block, whichever
  // contestant went first met a broker spending ~2× the CPU per record (measured 1.5 against
  // 0.8 µs). One unmeasured raw-loop block first.
  const warmup = arg('warmup', 1_000_000);
  if (warmup > 0) {
    const w = await rawKafkajs(brokers, installDir, warmup, -1, kafka.process.pid, 'prebuilt');
    process.stdout.write(`warm-up (not counted): raw kafkajs loop, ${warmup} records, ${w.msgsPerSec.toFixed(0)} msg/s, broker ${w.brokerCpuUsPerRecord.toFixed(1)} CPU-µs/record\n`);
  }
  const results: Record<string, number[]> = { ours: [], perfTest: [], rawKafkajs: [], rawKafkajsFresh: [], oursRss: [], oursCpu: [], perfTestCpu: [], rawKafkajsCpu: [], rawKafkajsFreshCpu: [], oursBatch: [], load: [], oursBrokerCpu: [], oursUpstreamCpu: [], oursMachineBusy: [], perfTestBrokerCpu: [], perfTestMachineBusy: [], rawKafkajsBrokerCpu: [], rawKafkajsMachineBusy: [], rawKafkajsFreshBrokerCpu: [], rawKafkajsFreshMachineBusy: [] };
  try {
    for (let rep = 0; rep < reps; rep++) {
      const runA = async (): Promise<void> => {
        const a = await ours(brokers, installDir, records, rep, kafka.process.pid);
        results['ours']?.push(a.msgsPerSec);
        results['oursRss']?.push(a.peakRssMb);
        results['oursCpu']?.push(a.cpuUsPerRecord);
        results['oursBatch']?.push(a.recordsPerBatch);
        results['oursBrokerCpu']?.push(a.brokerCpuUsPerRecord);
        results['oursUpstreamCpu']?.push(a.upstreamCpuUsPerRecord);
        results['oursMachineBusy']?.push(a.machineBusy);
        results['load']?.push(load());
        process.stdout.write(`rep ${rep} stream-ingest: ${a.msgsPerSec.toFixed(0)} msg/s, ${a.seconds.toFixed(1)} s, ${a.cpuUsPerRecord.toFixed(1)} CPU-µs/record, ${a.recordsPerBatch.toFixed(0)} records/batch, peak RSS ${a.peakRssMb.toFixed(0)} MB, broker ${a.brokerCpuUsPerRecord.toFixed(1)} CPU-µs/record, upstream ${a.upstreamCpuUsPerRecord.toFixed(1)} CPU-µs/record, machine ${(a.machineBusy * 100).toFixed(0)} % busy, load ${load()}\n`);
        if (a.probe) process.stdout.write(`rep ${rep} stream-ingest probe: ${JSON.stringify(a.probe)}\n`);
      };
      const runB = async (): Promise<void> => {
        const b = await perfTest(brokers, installDir, records, rep, kafka.process.pid);
        results['perfTest']?.push(b.msgsPerSec);
        results['perfTestCpu']?.push(b.cpuUsPerRecord);
        results['perfTestBrokerCpu']?.push(b.brokerCpuUsPerRecord);
        results['perfTestMachineBusy']?.push(b.machineBusy);
        process.stdout.write(`rep ${rep} kafka-producer-perf-test: ${b.summary} (${b.cpuUsPerRecord.toFixed(1)} CPU-µs/record), broker ${b.brokerCpuUsPerRecord.toFixed(1)} CPU-µs/record, machine ${(b.machineBusy * 100).toFixed(0)} % busy, load ${load()}\n`);
      };
      const runRaw = (mode: 'prebuilt' | 'fresh') => async (): Promise<void> => {
        const key = mode === 'prebuilt' ? 'rawKafkajs' : 'rawKafkajsFresh';
        const label = mode === 'prebuilt' ? 'raw kafkajs loop' : 'raw kafkajs loop, fresh records';
        const c = await rawKafkajs(brokers, installDir, records, rep, kafka.process.pid, mode);
        results[key]?.push(c.msgsPerSec);
        results[`${key}Cpu`]?.push(c.cpuUsPerRecord);
        results[`${key}BrokerCpu`]?.push(c.brokerCpuUsPerRecord);
        results[`${key}MachineBusy`]?.push(c.machineBusy);
        process.stdout.write(`rep ${rep} ${label}: ${c.msgsPerSec.toFixed(0)} msg/s, ${c.seconds.toFixed(1)} s, ${c.cpuUsPerRecord.toFixed(1)} CPU-µs/record, RSS ${c.rssMb.toFixed(0)} MB, broker ${c.brokerCpuUsPerRecord.toFixed(1)} CPU-µs/record, machine ${(c.machineBusy * 100).toFixed(0)} % busy, load ${load()}\n`);
        if (c.probe) process.stdout.write(`rep ${rep} ${label} probe: ${JSON.stringify(c.probe)}\n`);
      };
      const runC = runRaw('prebuilt');
      const runD = runRaw('fresh');
      // A B C D, then D C B A: on a machine whose load drifts, no contestant always goes first.
      for (const run of rep % 2 === 0 ? [runA, runB, runC, runD] : [runD, runC, runB, runA]) await run();
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
    streamIngestRuntimeEnv: runtimeEnv.label,
    streamIngestNodeFlags: nodeFlagsArg(),
    recordBytes: 200,
    acks: 'all',
    partitions: 3,
    streamIngestMsgsPerSec: oursRate,
    kafkaProducerPerfTestMsgsPerSec: median(results['perfTest'] ?? []),
    rawKafkajsMsgsPerSec: median(results['rawKafkajs'] ?? []),
    rawKafkajsFreshMsgsPerSec: median(results['rawKafkajsFresh'] ?? []),
    ratioVsPerfTest: oursRate / median(results['perfTest'] ?? []),
    ratioVsRawKafkajs: oursRate / median(results['rawKafkajs'] ?? []),
    ratioVsRawKafkajsFresh: oursRate / median(results['rawKafkajsFresh'] ?? []),
    medianPerRepRatioVsPerfTest: median((results['ours'] ?? []).map((o, i) => o / (results['perfTest']?.[i] ?? 1))),
    medianPerRepRatioVsRawKafkajs: median((results['ours'] ?? []).map((o, i) => o / (results['rawKafkajs']?.[i] ?? 1))),
    streamIngestPeakRssMb: Math.max(...(results['oursRss'] ?? [0])),
    cpuUsPerRecord: {
      streamIngest: median(results['oursCpu'] ?? []),
      kafkaProducerPerfTest: median(results['perfTestCpu'] ?? []),
      rawKafkajs: median(results['rawKafkajsCpu'] ?? []),
      rawKafkajsFresh: median(results['rawKafkajsFreshCpu'] ?? []),
    },
    streamIngestRecordsPerBatch: median(results['oursBatch'] ?? []),
    perRepRatios: (results['ours'] ?? []).map((o, i) => ({
      vsPerfTest: o / (results['perfTest']?.[i] ?? 1),
      vsRawKafkajs: o / (results['rawKafkajs']?.[i] ?? 1),
      vsRawKafkajsFresh: o / (results['rawKafkajsFresh']?.[i] ?? 1),
    })),
    raw: results,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
