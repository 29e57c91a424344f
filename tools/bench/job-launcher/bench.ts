/**
 * job-launcher benchmark: Jobs created per second by Wharf vs a raw client-node loop, and
 * end-to-end latency (launch command produced → run Complete observed) on KWOK nodes.
 *
 *   bash tools/run.sh stack up --kafka --kube; eval "$(bash tools/run.sh stack env)"   # optional
 *   npx tsx tools/bench/job-launcher/bench.ts [--jobs 2000] [--qps 50] [--burst 100] [--rounds 2]
 *       [--e2e 200] [--rate 2] [--raw-concurrency <wharf's>] [--partition-concurrency <launcher default>]
 *       [--raw-pooled]   (the raw loop reuses connections like Wharf; default: client-node as shipped)
 *       [--phases raw,wharf,e2e]
 *
 * Without WHARF_KAFKA_BROKERS / WHARF_KUBE_KUBECONFIG in the environment it starts its own
 * Kafka and Kubernetes (libs/testing's harness) and stops them at the end.
 *
 * 1. raw: k client-node loops create N single-pod Jobs (the manifests Wharf renders, rendered
 *    before the clock starts), sharing the manifests and one RateLimiter(qps, burst) of the
 *    platform: each create waits for a token. k (`--raw-concurrency`) defaults to the creates
 *    Wharf can have in flight, min(launcher.partitionConcurrency, partitions of the launch
 *    topic): same QPS limit and same concurrency, so the ratio is Wharf's per-Job overhead, not
 *    a sequential loop outrun by a concurrent one.
 * 2. wharf: N LaunchRuns wait in a fresh launch topic (written by an idempotent producer and
 *    counted before the launcher starts: exactly N records, no duplicates a plain producer's
 *    retries leave under load — each would cost Wharf a 409 and a GET the raw loop never pays);
 *    an in-process job-launcher (production wiring, same qps/burst) starts; the clock runs
 *    from "launcher ready" to the N-th Job seen by a watch. Both sides make one API request per Job (a single-pod Job without inputs
 *    or secrets is created unsuspended) under the same limit.
 *    With both phases the passes alternate, raw, wharf, raw, … (`--rounds` wharf passes, one
 *    more raw), on the same apiserver in the same run: the shared machine's load and the
 *    cluster's backlog drift, so each wharf pass is divided by the faster raw pass on either
 *    side of it; ratio = the mean of those round ratios.
 *    Diagnostics per pass (stderr and the JSON): Jobs seen per 10 s, Job creates in flight and
 *    their mean duration per 10 s (a timing wrapper around BatchV1Api.createNamespacedJob,
 *    which both sides call), the bench process's CPU and event-loop utilization; for wharf
 *    passes also creates per launch-topic partition per 10 s, LaunchHandler.handle calls in
 *    flight, the slowest creates/handles, the longest RateLimiter wait, the launcher's start →
 *    ready time (before the clock) and the observations it published in the window. Run with
 *    `node --cpu-prof --import tsx …` and cut the profile by the printed hrStartUs/hrEndUs.
 *    Each pass has its own namespace and the launcher watches only its own, so a wharf pass's
 *    launcher never lists or watches earlier passes' Jobs: its startup report is empty, and
 *    what earlier passes leave behind (the cluster still running their Jobs) meets both sides
 *    alike through the shared apiserver.
 * 3. e2e: commands produced at a steady rate to a running launcher; latency per run from
 *    produce to the finished observation consumed, p50 and p99. Best on a fresh cluster
 *    (`--phases e2e`): after the throughput passes the cluster is still running their Jobs.
 */
import { BatchV1Api, CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ContentTypes,
  decodeMessage,
  KubeLabels,
  encodeMessage,
  LaunchCommand,
  Observation,
  RecordHeaders,
  type LaunchRun,
} from '../../../libs/contracts/src';
import { createLogger, loadConfig, RateLimiter, reuseConnections, type Component } from '../../../libs/platform/src';
import { startInfra, type Infra } from '../../../libs/testing/src/infra/infra';
import { jobSpec } from '../../../libs/testing/src/launch-fixtures';
import {
  jobLauncherConfigSchema,
  type JobLauncherConfig,
} from '../../../apps/job-launcher/src/config';
import { composeJobLauncher } from '../../../apps/job-launcher/src/job-launcher-service';
import { LaunchHandler } from '../../../apps/job-launcher/src/launch/launch-handler';
import {
  defaultRenderOptions,
  renderRun,
} from '../../../apps/job-launcher/src/launch/job-renderer';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const jobs = arg('jobs', 2000);
const qps = arg('qps', 50);
const burst = arg('burst', 100);
const e2eJobs = arg('e2e', 200);
/** Runs per second: the test cluster runs ~2-3 Jobs/s to completion, so faster only measures its queue. */
const e2eRate = arg('rate', 2);
/** Wharf passes, each between two raw passes (raw, wharf, raw, …). */
const rounds = arg('rounds', 2);
const partitionConcurrency = process.argv.includes('--partition-concurrency')
  ? arg('partition-concurrency', 1)
  : undefined;
const phasesArg = process.argv.indexOf('--phases');
/** `--phases raw,wharf,e2e` (default all): run only some phases. */
const phases = new Set(
  (phasesArg >= 0 ? (process.argv[phasesArg + 1] ?? '') : 'raw,wharf,e2e').split(','),
);
const suffix = Date.now().toString(36);
const logger = createLogger({ service: 'bench', level: process.env['BENCH_LOG'] ?? 'warn' });
const say = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

function run(
  jobId: string,
  namespace: string,
  annotations: Record<string, string> = {},
): LaunchRun {
  return {
    jobId,
    run: 1,
    tenant: 'bench',
    specHash: '',
    admittedAt: undefined,
    workflowId: '',
    taskName: '',
    spec: jobSpec({
      name: 'bench',
      namespace,
      command: ['true'],
      annotations: { 'wharf.dev/sim-duration-ms': '100', ...annotations },
    }),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** One Job create request of the process: when it started and ended (performance.now()), and
 * the job id it carried. */
interface CreateSpan {
  start: number;
  end: number;
  jobId: string;
}
/** Times every Job create of the process (the raw loop's and the in-process launcher's, both
 * through client-node's BatchV1Api) while `spans` is set: a timing wrapper, nothing else. */
const jobCreates: { spans: CreateSpan[] | undefined } = { spans: undefined };
{
  const proto = BatchV1Api.prototype as unknown as Record<
    string,
    (...a: unknown[]) => Promise<unknown>
  >;
  const create = proto['createNamespacedJob'];
  if (create) {
    proto['createNamespacedJob'] = async function (this: unknown, ...a: unknown[]) {
      const into = jobCreates.spans;
      const start = performance.now();
      const result = await create.apply(this, a);
      const body = (a[0] as { body?: { metadata?: { labels?: Record<string, string> } } }).body;
      into?.push({
        start,
        end: performance.now(),
        jobId: body?.metadata?.labels?.[KubeLabels.jobId] ?? '',
      });
      return result;
    };
  }
}

/** Diagnostics of the in-process launcher: its LaunchHandler.handle calls (a record from
 * start to end) and the waits in the kube client's RateLimiter, while set. */
const launcherSpans: { handle: CreateSpan[] | undefined; limiterWaitMs: number[] | undefined } = {
  handle: undefined,
  limiterWaitMs: undefined,
};
/** Wraps `prototype[method]` so each call's start and end go to `record` (the bench's spans). */
function timeMethod(prototype: object, method: string, record: (start: number, end: number) => void): void {
  const methods = prototype as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const original = methods[method];
  if (!original) return;
  methods[method] = async function (this: unknown, ...a: unknown[]) {
    const start = performance.now();
    try {
      return await original.apply(this, a);
    } finally {
      record(start, performance.now());
    }
  };
}
timeMethod(LaunchHandler.prototype, 'handle', (start, end) => launcherSpans.handle?.push({ start, end, jobId: '' }));
timeMethod(RateLimiter.prototype, 'take', (start, end) => launcherSpans.limiterWaitMs?.push(end - start));

/** What a pass cost the bench process and how evenly its Jobs came (for finding slow passes). */
interface PassDiagnostics {
  /** Jobs seen per 10 s of the window, in order. */
  per10s: number[];
  /** Per 10 s: Job creates in flight on average (time-weighted), and their mean duration (ms). */
  inFlight10s: number[];
  createMs10s: number[];
  /** CPU of the bench process (raw loop or in-process launcher, and the counting watch), ms. */
  cpuMs: number;
  /** Event-loop utilization of the bench process over the window, 0-1. */
  elu: number;
  /** hrtime (µs) at the window's start and end, to cut a --cpu-prof profile by pass. */
  hrStartUs: number;
  hrEndUs: number;
}

function startDiagnostics(): (
  start: number,
  end: number,
  times: number[],
  spans: CreateSpan[],
) => PassDiagnostics {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const hrStartUs = Number(process.hrtime.bigint() / 1000n);
  return (start, end, times, spans) => {
    const cpu = process.cpuUsage(cpu0);
    const buckets = Math.ceil((end - start) / 10_000);
    const busy = Array.from({ length: buckets }, () => 0);
    const took = Array.from({ length: buckets }, () => [0, 0]);
    for (const s of spans) {
      for (let b = 0; b < buckets; b++) {
        const lo = start + b * 10_000;
        busy[b] =
          (busy[b] ?? 0) + Math.max(0, Math.min(s.end, lo + 10_000) - Math.max(s.start, lo));
      }
      const t = took[Math.min(buckets - 1, Math.max(0, Math.floor((s.end - start) / 10_000)))];
      if (t) {
        t[0] = (t[0] ?? 0) + s.end - s.start;
        t[1] = (t[1] ?? 0) + 1;
      }
    }
    const per10s: number[] = [];
    for (const t of times) {
      const b = Math.max(0, Math.floor((t - start) / 10_000));
      while (per10s.length <= b) per10s.push(0);
      per10s[b] = (per10s[b] ?? 0) + 1;
    }
    return {
      per10s,
      inFlight10s: busy.map((b) => Number((b / 10_000).toFixed(1))),
      createMs10s: took.map(([ms = 0, n = 0]) => Math.round(ms / Math.max(1, n))),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      elu: Number(performance.eventLoopUtilization(elu0).utilization.toFixed(2)),
      hrStartUs,
      hrEndUs: Number(process.hrtime.bigint() / 1000n),
    };
  };
}

/** Resolves with the time the `count`-th Job appeared in `namespace`. */
function countJobs(
  kc: KubeConfig,
  namespace: string,
  count: number,
): { done: Promise<number>; stop(): void; times: number[] } {
  const seen = new Set<string>();
  /** performance.now() of each new name: the pass's timeline. */
  const times: number[] = [];
  let resolveDone: (t: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));
  let controller: AbortController | undefined;
  let stopped = false;
  const start = (): void => {
    void new Watch(kc)
      .watch(
        `/apis/batch/v1/namespaces/${namespace}/jobs`,
        { allowWatchBookmarks: false },
        (type, obj: { metadata?: { name?: string } }) => {
          if (type === 'ADDED' && obj.metadata?.name) {
            if (!seen.has(obj.metadata.name)) times.push(performance.now());
            seen.add(obj.metadata.name);
            if (seen.size === count) resolveDone(performance.now());
          }
        },
        () => {
          if (!stopped && seen.size < count) setTimeout(start, 100); // resume; a list is not needed for counting new names
        },
      )
      .then((c) => (controller = c));
  };
  start();
  return { done, stop: () => ((stopped = true), controller?.abort()), times };
}

/** Waits (at most 300 s) until the phase's Jobs are Complete, so the next phase meets a quiet
 * cluster; returns how many were Complete and when (ms, performance.now()). */
async function settle(
  batch: BatchV1Api,
  namespace: string,
  expected: number,
): Promise<{ complete: number; at: number }> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const list = await batch.listNamespacedJob({ namespace });
    const finished = list.items.filter((j) =>
      (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True'),
    );
    if (finished.length >= expected || Date.now() > deadline)
      return { complete: finished.length, at: performance.now() };
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function main(): Promise<void> {
  let infra: Infra | undefined;
  if (!process.env['WHARF_KAFKA_BROKERS'] || !process.env['WHARF_KUBE_KUBECONFIG']) {
    say('starting Kafka and Kubernetes (KWOK)…');
    infra = await startInfra({
      kafka: true,
      kube: true,
      workDir: mkdtempSync(join(tmpdir(), 'wharf-bench-')),
      cleanup: true,
      log: say,
    });
    Object.assign(process.env, infra.env());
  }
  const brokers = (process.env['WHARF_KAFKA_BROKERS'] ?? '').split(',');
  const kubeconfig = process.env['WHARF_KUBE_KUBECONFIG'] ?? '';
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  // client-node as shipped opens a TLS connection per request; Wharf's kubeconfig reuses one pool
  // (reuseConnections). `--raw-pooled` gives the raw loop the same pool, so the ratio measures
  // Wharf's own overhead rather than that client-node fix.
  const rawPooled = process.argv.includes('--raw-pooled');
  if (rawPooled) reuseConnections(kc);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  // Idempotent: a plain producer re-sends a request whose answer timed out, and under load the
  // launch topic got duplicates (2,271 records for 2,000 runs in one pass, ~450 in three of six
  // partitions): each duplicate costs Wharf a create answered 409 plus a GET, and showed up as
  // partitions making no new Job for 30 s — work the raw loop never gets.
  const producer = kafka.producer({
    allowAutoTopicCreation: true,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const render = { ...defaultRenderOptions, archiveFinalizer: false };

  const config = (namespace: string, topic: string): JobLauncherConfig =>
    loadConfig(jobLauncherConfigSchema, {
      env: {
        WHARF_KAFKA_BROKERS: brokers.join(','),
        WHARF_KUBE_KUBECONFIG: kubeconfig,
        WHARF_KUBE_QPS: String(qps),
        WHARF_KUBE_BURST: String(burst),
        WHARF_POLICY_NAMESPACES: namespace,
        WHARF_RENDER_ARCHIVE_FINALIZER: 'false',
        WHARF_LAUNCHER_LAUNCH_TOPIC: `${topic}.launch`,
        WHARF_LAUNCHER_OBSERVATIONS_TOPIC: `${topic}.observations`,
        WHARF_LAUNCHER_GROUP_ID: `${topic}.launcher`,
        WHARF_OPS_PORT: '0',
        ...(partitionConcurrency === undefined
          ? {}
          : { WHARF_LAUNCHER_PARTITION_CONCURRENCY: String(partitionConcurrency) }),
      },
      argv: [],
    }) as JobLauncherConfig;

  /** Partitions of the bench's launch topics: at most this many records are in flight. */
  const launchPartitions = 6;
  /** Creates Wharf can have in flight: one record per partition being consumed. */
  const wharfInFlight = Math.min(
    config('unused', 'unused').launcher.partitionConcurrency,
    launchPartitions,
  );
  const rawConcurrency = arg('raw-concurrency', wharfInFlight);

  const startLauncher = async (
    cfg: JobLauncherConfig,
    attempt = 1,
  ): Promise<() => Promise<void>> => {
    const parts = composeJobLauncher(cfg, { logger });
    const started: Component[] = [];
    try {
      for (const c of parts.components) {
        await c.start?.();
        started.push(c);
      }
    } catch (error) {
      // A topic created a moment ago may not have its leader everywhere yet; main.ts would exit
      // and be restarted — here we just start again.
      for (const c of started.reverse()) await c.stop?.();
      if (attempt >= 3) throw error;
      say(`launcher start failed (${(error as Error).message}); retrying`);
      return startLauncher(cfg, attempt + 1);
    }
    while (!parts.components.every((c) => c.ready?.() ?? true))
      await new Promise((r) => setTimeout(r, 20));
    return async () => {
      for (const c of started.reverse()) await c.stop?.();
    };
  };

  /** One pass of the raw loop: its rate and the duration of each create request (which shows
   * whether the loop was bound by request latency or by the QPS limit). */
  const measureRaw = async (
    pass: string,
    thenSettle = true,
  ): Promise<{
    rate: number;
    createMs: number[];
    cluster?: ClusterPace;
    diagnostics: PassDiagnostics;
  }> => {
    const ns = `bench-${pass}-${suffix}`;
    namespaces.push(ns);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const manifests = Array.from(
      { length: jobs },
      (_, i) => renderRun(run(`${pass}-${i}-${suffix}`, ns), render).job,
    );
    const limiter = new RateLimiter({ qps, burst });
    const count = countJobs(kc, ns, jobs);
    say(`${pass}: creating ${jobs} Jobs at qps ${qps} burst ${burst}, ${rawConcurrency} loop(s)…`);
    const createMs: number[] = [];
    const spans: CreateSpan[] = [];
    jobCreates.spans = spans;
    const diagnose = startDiagnostics();
    const start = performance.now();
    let next = 0;
    const loop = async (): Promise<void> => {
      for (let job = manifests[next++]; job; job = manifests[next++]) {
        await limiter.take();
        const t0 = performance.now();
        await batch.createNamespacedJob({ namespace: ns, body: job as never });
        createMs.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: rawConcurrency }, loop));
    const end = await count.done;
    count.stop();
    jobCreates.spans = undefined;
    const diagnostics = diagnose(start, end, count.times, spans);
    const rate = jobs / ((end - start) / 1000);
    say(`${pass}: ${rate.toFixed(1)} Jobs/s ${JSON.stringify(diagnostics)}`);
    // Settled before a later phase only (the last one need not wait for the cluster).
    const cluster = thenSettle ? pace(start, await settle(batch, ns, jobs)) : undefined;
    return { rate, createMs, cluster, diagnostics };
  };

  /** Jobs Complete per second from the phase's first create to the settle's end. */
  type ClusterPace = { complete: number; perSecond: number };
  const pace = (start: number, settled: { complete: number; at: number }): ClusterPace => ({
    complete: settled.complete,
    perSecond: Number((settled.complete / ((settled.at - start) / 1000)).toFixed(1)),
  });

  /** One Wharf pass: N LaunchRuns wait in a fresh launch topic; the clock runs from "launcher
   * ready" to the N-th Job seen. */
  const measureWharf = async (
    pass: string,
    thenSettle: boolean,
  ): Promise<{
    rate: number;
    createMs: number[];
    cluster?: ClusterPace;
    diagnostics: PassDiagnostics & {
      readyMs: number;
      observations: number;
      perPartition: number[][];
      handleInFlight10s: number[];
      slowestCreatesMs: number[];
      slowestHandlesMs: number[];
      limiterWaitMaxMs: number;
    };
  }> => {
    const ns = `bench-${pass}-${suffix}`;
    const topic = `bench-${pass}-${suffix}`;
    namespaces.push(ns);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: `${topic}.launch`, numPartitions: launchPartitions },
        { topic: `${topic}.observations`, numPartitions: launchPartitions },
      ],
    });
    await admin.disconnect();
    for (let i = 0; i < jobs; i += 500) {
      await producer.send({
        topic: `${topic}.launch`,
        acks: -1,
        messages: Array.from({ length: Math.min(500, jobs - i) }, (_, k) => {
          const jobId = `${pass}-${i + k}-${suffix}`;
          return {
            key: jobId,
            value: encodeMessage(LaunchCommand, { launch: run(jobId, ns), cancel: undefined }),
          };
        }),
      });
    }
    // Exactly one command per Job, or Wharf would be measured on work the raw loop does not do.
    const waiting = await recordsIn(`${topic}.launch`);
    if (waiting !== jobs) throw new Error(`${topic}.launch holds ${waiting} records, not ${jobs}`);
    const count = countJobs(kc, ns, jobs);
    say(`${pass}: ${jobs} LaunchRuns waiting; starting job-launcher…`);
    const t0 = performance.now();
    const stop = await startLauncher(config(ns, topic));
    const spans: CreateSpan[] = [];
    jobCreates.spans = spans;
    const handles: CreateSpan[] = [];
    const limiterWaitMs: number[] = [];
    Object.assign(launcherSpans, { handle: handles, limiterWaitMs });
    const diagnose = startDiagnostics();
    const start = performance.now();
    const end = await count.done;
    count.stop();
    jobCreates.spans = undefined;
    Object.assign(launcherSpans, { handle: undefined, limiterWaitMs: undefined });
    const createMs = spans.map((s) => s.end - s.start);
    const diagnostics = {
      ...diagnose(start, end, count.times, spans),
      perPartition: perPartition(spans, start),
      handleInFlight10s: diagnose(start, end, [], handles).inFlight10s,
      slowestCreatesMs: spans
        .map((s) => Math.round(s.end - s.start))
        .sort((a, b) => b - a)
        .slice(0, 5),
      slowestHandlesMs: handles
        .map((s) => Math.round(s.end - s.start))
        .sort((a, b) => b - a)
        .slice(0, 5),
      limiterWaitMaxMs: Math.round(Math.max(0, ...limiterWaitMs)),
      readyMs: Math.round(start - t0),
      observations: await recordsIn(`${topic}.observations`),
    };
    const rate = jobs / ((end - start) / 1000);
    say(`${pass}: ${rate.toFixed(1)} Jobs/s ${JSON.stringify(diagnostics)}`);
    await stop();
    const cluster = thenSettle ? pace(start, await settle(batch, ns, jobs)) : undefined;
    return { rate, createMs, cluster, diagnostics };
  };

  /** Per launch-topic partition (the producer's partitioner on the job id): Jobs created per
   * 10 s, to see whether some partitions sat idle while others worked. */
  const perPartition = (spans: CreateSpan[], start: number): number[][] => {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: launchPartitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    const out = Array.from({ length: launchPartitions }, () => [] as number[]);
    for (const s of spans) {
      const p = partitioner({
        topic: 't',
        partitionMetadata,
        message: { key: s.jobId, value: null },
      });
      const row = out[p];
      const b = Math.floor((s.end - start) / 10_000);
      if (!row) continue;
      while (row.length <= b) row.push(0);
      row[b] = (row[b] ?? 0) + 1;
    }
    return out;
  };

  /** Records in a topic (sum of its partitions' end offsets; the bench's topics start at 0). */
  const recordsIn = async (topic: string): Promise<number> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((a, o) => a + Number(o.high), 0);
    } finally {
      await admin.disconnect();
    }
  };

  const namespaces: string[] = [];
  const loadBefore = loadavg().map((l) => Number(l.toFixed(1)));
  // 1./2. raw and wharf passes, alternating raw, wharf, raw, wharf, …, raw: the machine's load
  // (shared) and the cluster's backlog (its controllers finish ~2-3 Jobs/s, far fewer than are
  // created) drift during a run, and each wharf pass is compared with the raw passes on both
  // sides of it. No settling in between: the backlog grows for both sides alike.
  type Pass = {
    pass: string;
    rate: number;
    load1: number;
    createMs?: number[];
    cluster?: ClusterPace;
    diagnostics?: PassDiagnostics;
  };
  const load1 = (): number => Number((loadavg()[0] ?? NaN).toFixed(1));
  const raws: Pass[] = [];
  const wharfs: Pass[] = [];
  const both = phases.has('raw') && phases.has('wharf');
  const passes = both ? rounds : 1;
  for (let r = 0; r < passes; r++) {
    if (phases.has('raw')) {
      const settleAfter = !phases.has('wharf') && phases.has('e2e');
      const pass = await measureRaw(`raw${r}`, settleAfter);
      raws.push({ pass: `raw${r}`, ...pass, load1: load1() });
    }
    if (phases.has('wharf')) {
      const settleAfter = !both && phases.has('e2e');
      const pass = await measureWharf(`wharf${r}`, settleAfter);
      wharfs.push({ pass: `wharf${r}`, ...pass, load1: load1() });
    }
  }
  if (both) {
    const pass = await measureRaw(`raw${passes}`, phases.has('e2e'));
    raws.push({ pass: `raw${passes}`, ...pass, load1: load1() });
  }
  /** Per wharf pass: its rate ÷ the faster of the raw passes around it (the conservative one). */
  const roundRatios = wharfs.map((w, i) =>
    Number((w.rate / Math.max(raws[i]?.rate ?? NaN, raws[i + 1]?.rate ?? NaN)).toFixed(3)),
  );
  const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;

  // 3. End to end on KWOK nodes
  const e2eNs = `bench-e2e-${suffix}`;
  namespaces.push(e2eNs);
  const latencies: number[] = [];
  /** Launch command produced → `created` observation consumed: the launcher's own share. */
  const createdLatencies: number[] = [];
  if (phases.has('e2e')) {
    const e2eTopic = `bench-e2e-${suffix}`;
    await core.createNamespace({ body: { metadata: { name: e2eNs } } });
    const stopE2e = await startLauncher(config(e2eNs, e2eTopic));
    const sentAt = new Map<string, number>();
    const createdSeen = new Set<string>();
    const consumer = kafka.consumer({ groupId: `${e2eTopic}.tap` });
    await consumer.connect();
    await consumer.subscribe({ topic: `${e2eTopic}.observations`, fromBeginning: true });
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => (resolveAll = r));
    await consumer.run({
      eachMessage: async ({ message }) => {
        const o = decodeMessage(
          Observation,
          'Observation',
          message.value ?? Buffer.alloc(0),
          ContentTypes.protobuf,
        );
        const t0 = sentAt.get(o.jobId);
        if (o.created && t0 !== undefined && !createdSeen.has(o.jobId)) {
          createdSeen.add(o.jobId);
          createdLatencies.push(performance.now() - t0);
        }
        if (o.finished && t0 !== undefined) {
          latencies.push(performance.now() - t0);
          sentAt.delete(o.jobId);
          if (latencies.length === e2eJobs) resolveAll();
        }
      },
    });
    say(`e2e: ${e2eJobs} runs at ${e2eRate}/s…`);
    for (let i = 0; i < e2eJobs; i++) {
      const jobId = `e2e-${i}-${suffix}`;
      sentAt.set(jobId, performance.now());
      await producer.send({
        topic: `${e2eTopic}.launch`,
        acks: -1,
        messages: [
          {
            key: jobId,
            value: encodeMessage(LaunchCommand, { launch: run(jobId, e2eNs), cancel: undefined }),
            headers: { [RecordHeaders.contentType]: ContentTypes.protobuf },
          },
        ],
      });
      await new Promise((r) => setTimeout(r, 1000 / e2eRate));
    }
    await all;
    await consumer.disconnect();
    await stopE2e();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const createP = (createMs: number[], p: number): number =>
    Math.round(
      percentile(
        [...createMs].sort((a, b) => a - b),
        p,
      ),
    );
  /** raw0, wharf0, raw1, wharf1, …: the run order. */
  const order = (pass: string): number =>
    2 * Number(/\d+$/.exec(pass)?.[0] ?? 0) + (pass.startsWith('wharf') ? 1 : 0);

  const result = {
    jobs,
    qps,
    burst,
    rawConcurrency,
    wharfPartitionConcurrency: config('unused', 'unused').launcher.partitionConcurrency,
    /** In run order: Jobs/s, the 1-minute load average at the pass's end, create latency. */
    passes: [...raws, ...wharfs]
      .sort((a, b) => order(a.pass) - order(b.pass))
      .map((p) => ({
        pass: p.pass,
        jobsPerSecond: Number(p.rate.toFixed(1)),
        load1: p.load1,
        ...(p.createMs
          ? { createP50Ms: createP(p.createMs, 50), createP99Ms: createP(p.createMs, 99) }
          : {}),
        ...(p.cluster ? { clusterCompletePerSecond: p.cluster.perSecond } : {}),
        ...(p.diagnostics
          ? (({ hrStartUs: _s, hrEndUs: _e, ...d }) => d)(p.diagnostics as PassDiagnostics)
          : {}),
      })),
    rawJobsPerSecondMean: Number(mean(raws.map((p) => p.rate)).toFixed(1)),
    wharfJobsPerSecondMean: Number(mean(wharfs.map((p) => p.rate)).toFixed(1)),
    /** Each wharf pass ÷ the faster raw pass beside it. */
    roundRatios,
    /** The mean of roundRatios: the figure for the goal (≥ 0.95). */
    ratio: Number(mean(roundRatios).toFixed(3)),
    e2e: {
      runs: e2eJobs,
      ratePerSecond: e2eRate,
      simDurationMs: 100,
      p50Ms: Math.round(percentile(sorted, 50)),
      p99Ms: Math.round(percentile(sorted, 99)),
      createdP50Ms: Math.round(
        percentile(
          [...createdLatencies].sort((a, b) => a - b),
          50,
        ),
      ),
      createdP99Ms: Math.round(
        percentile(
          [...createdLatencies].sort((a, b) => a - b),
          99,
        ),
      ),
    },
    loadAverage: { start: loadBefore, end: loadavg().map((l) => Number(l.toFixed(1))) },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await producer.disconnect();
  for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await infra?.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
