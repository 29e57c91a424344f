/**
 * job-launcher benchmark: Jobs created per second by Wharf vs a raw client-node loop, and
 * end-to-end latency (launch command produced → run Complete observed) on KWOK nodes.
 *
 *   bash tools/run.sh stack up --kafka --kube; eval "$(bash tools/run.sh stack env)"   # optional
 *   npx tsx tools/bench/job-launcher/bench.ts [--jobs 2000] [--qps 50] [--burst 100] [--e2e 300] [--rate 20]
 *       [--raw-concurrency 1] [--partition-concurrency <launcher default>] [--phases raw,wharf,e2e]
 *
 * Without WHARF_KAFKA_BROKERS / WHARF_KUBE_KUBECONFIG in the environment it starts its own
 * Kafka and Kubernetes (libs/testing's harness) and stops them at the end.
 *
 * 1. raw: a sequential client-node loop creates N single-pod Jobs (the manifests Wharf
 *    renders), each create waiting for a token of the platform's RateLimiter(qps, burst).
 *    `--raw-concurrency k` runs k such loops sharing the manifests and the one limiter (same
 *    QPS limit, k creates in flight: the launcher's partitionConcurrency for a like-for-like
 *    comparison of per-Job overhead).
 * 2. wharf: N LaunchRuns wait in a fresh launch topic; an in-process job-launcher (production
 *    wiring, same qps/burst) starts; the clock runs from "launcher ready" to the N-th Job
 *    seen by a watch. Throughput ratio = wharf / raw. Both sides make one API request per Job
 *    (a single-pod Job without inputs or secrets is created unsuspended).
 * 3. e2e: commands produced at a steady rate to a running launcher; latency per run from
 *    produce to the finished observation consumed, p50 and p99.
 */
import { BatchV1Api, CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { Kafka, logLevel } from 'kafkajs';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ContentTypes,
  decodeMessage,
  encodeMessage,
  LaunchCommand,
  Observation,
  RecordHeaders,
  type LaunchRun,
} from '../../../libs/contracts/src';
import { createLogger, loadConfig, RateLimiter, type Component } from '../../../libs/platform/src';
import { startInfra, type Infra } from '../../../libs/testing/src/infra/infra';
import {
  jobLauncherConfigSchema,
  type JobLauncherConfig,
} from '../../../apps/job-launcher/src/config';
import { composeJobLauncher } from '../../../apps/job-launcher/src/job-launcher-service';
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
const e2eJobs = arg('e2e', 300);
const e2eRate = arg('rate', 20);
const rawConcurrency = arg('raw-concurrency', 1);
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
    spec: {
      name: 'bench',
      namespace,
      queue: '',
      priority: 0,
      labels: {},
      image: 'busybox:1.36',
      command: ['true'],
      args: [],
      env: {},
      inputs: undefined,
      items: [],
      secrets: [],
      resources: undefined,
      parallelism: 0,
      activeDeadlineSeconds: 0,
      retry: undefined,
      volumes: [],
      serviceAccount: '',
      annotations: { 'wharf.dev/sim-duration-ms': '100', ...annotations },
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Resolves with the time the `count`-th Job appeared in `namespace`. */
function countJobs(
  kc: KubeConfig,
  namespace: string,
  count: number,
): { done: Promise<number>; stop(): void } {
  const seen = new Set<string>();
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
  return { done, stop: () => ((stopped = true), controller?.abort()) };
}

async function settle(batch: BatchV1Api, namespace: string, expected: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const list = await batch.listNamespacedJob({ namespace });
    const finished = list.items.filter((j) =>
      (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True'),
    );
    if (finished.length >= expected || Date.now() > deadline) return;
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
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
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

  let rawRate = NaN;
  /** Duration of each raw create request: shows whether the raw loop was bound by latency or QPS. */
  const rawCreateMs: number[] = [];
  const loadBefore = loadavg().map((l) => Number(l.toFixed(1)));
  let wharfRate = NaN;
  const rawNs = `bench-raw-${suffix}`;
  const wharfNs = `bench-wharf-${suffix}`;
  if (phases.has('raw')) {
    // 1. raw client-node loop
    await core.createNamespace({ body: { metadata: { name: rawNs } } });
    const manifests = Array.from(
      { length: jobs },
      (_, i) => renderRun(run(`raw-${i}-${suffix}`, rawNs), render).job,
    );
    const limiter = new RateLimiter({ qps, burst });
    const rawCount = countJobs(kc, rawNs, jobs);
    say(`raw: creating ${jobs} Jobs at qps ${qps} burst ${burst}, ${rawConcurrency} loop(s)…`);
    const rawStart = performance.now();
    let next = 0;
    const loop = async (): Promise<void> => {
      for (let job = manifests[next++]; job; job = manifests[next++]) {
        await limiter.take();
        const t0 = performance.now();
        await batch.createNamespacedJob({ namespace: rawNs, body: job as never });
        rawCreateMs.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: rawConcurrency }, loop));
    const rawEnd = await rawCount.done;
    rawCount.stop();
    rawRate = jobs / ((rawEnd - rawStart) / 1000);
    say(`raw: ${rawRate.toFixed(1)} Jobs/s`);
    await settle(batch, rawNs, jobs);
  }

  if (phases.has('wharf')) {
    // 2. Wharf: launch commands consumed → Jobs
    const topic = `bench-${suffix}`;
    await core.createNamespace({ body: { metadata: { name: wharfNs } } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: `${topic}.launch`, numPartitions: 6 },
        { topic: `${topic}.observations`, numPartitions: 6 },
      ],
    });
    await admin.disconnect();
    for (let i = 0; i < jobs; i += 500) {
      await producer.send({
        topic: `${topic}.launch`,
        acks: -1,
        messages: Array.from({ length: Math.min(500, jobs - i) }, (_, k) => {
          const jobId = `wharf-${i + k}-${suffix}`;
          return {
            key: jobId,
            value: encodeMessage(LaunchCommand, { launch: run(jobId, wharfNs), cancel: undefined }),
          };
        }),
      });
    }
    const wharfCount = countJobs(kc, wharfNs, jobs);
    say(`wharf: ${jobs} LaunchRuns waiting; starting job-launcher…`);
    const stopWharf = await startLauncher(config(wharfNs, topic));
    const wharfStart = performance.now();
    const wharfEnd = await wharfCount.done;
    wharfCount.stop();
    wharfRate = jobs / ((wharfEnd - wharfStart) / 1000);
    say(`wharf: ${wharfRate.toFixed(1)} Jobs/s`);
    await stopWharf();
    await settle(batch, wharfNs, jobs);
  }

  // 3. End to end on KWOK nodes
  const e2eNs = `bench-e2e-${suffix}`;
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
  const rawCreateSorted = [...rawCreateMs].sort((a, b) => a - b);

  const result = {
    jobs,
    qps,
    burst,
    rawConcurrency,
    wharfPartitionConcurrency: config(wharfNs, 'unused').launcher.partitionConcurrency,
    rawCreateP50Ms: Math.round(percentile(rawCreateSorted, 50)),
    rawCreateP99Ms: Math.round(percentile(rawCreateSorted, 99)),
    rawJobsPerSecond: Number(rawRate.toFixed(1)),
    wharfJobsPerSecond: Number(wharfRate.toFixed(1)),
    ratio: Number((wharfRate / rawRate).toFixed(3)),
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
  for (const ns of [rawNs, wharfNs, e2eNs])
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await infra?.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
