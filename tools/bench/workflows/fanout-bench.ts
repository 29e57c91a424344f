/**
 * A 100,000-item workflow fan-out end to end (issue #8): one workflow whose one task has
 * `withItems` of 100,000 short items, submitted over gRPC to a scheduler process, launched by a
 * job-launcher process onto a real Kubernetes control plane with KWOK nodes, over a real Kafka.
 *
 *   npx tsx tools/bench/workflows/fanout-bench.ts [--items 100000] [--parallelism 10]
 *     [--sim-ms 100] [--run-seconds 15] [--timeout-seconds 600] [--from-source] [--no-build]
 *     [--node-flags '--enable-source-maps'] [--scheduler-env KEY=VALUE]... [--launcher-env KEY=VALUE]...
 *
 * Starts its own Kafka and Kubernetes (libs/testing's harness) unless WHARF_KAFKA_BROKERS and
 * WHARF_KUBE_KUBECONFIG are both set (`eval "$(bash tools/run.sh stack env)"`), bundles the two
 * services (tools/build/bundle.mjs: the code images run; `--from-source` runs
 * `node --import tsx apps/<app>/src/main.ts` instead, which adds tsx's own memory), runs them
 * with `--node-flags` (default `--enable-source-maps`, as tools/images/service.Dockerfile's
 * NODE_OPTIONS), and stops everything it started at the end.
 *
 * Reports (goals of issue #8): Kubernetes Jobs labelled with the workflow id (goal: 1); the
 * scheduler's peak RSS (VmHWM, polled every 200 ms; goal ≤ 300 MB); ms from submit to the task
 * job ADMITTED and RUNNING (JobService.GetJob), to the Indexed Job existing with
 * spec.completions = items, and to it being resumed (its ConfigMap of items created: every index
 * can be admitted by Kubernetes); and the SubmitWorkflow RPC latency. Then it lets the job run
 * `--run-seconds` (pods at `--parallelism`) and cancels the workflow.
 */
import * as grpc from '@grpc/grpc-js';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import {
  JobServiceClient,
  JobState,
  jobStateToJSON,
  runStateToJSON,
  taskStateToJSON,
  WorkflowServiceClient,
  type Job,
  type SubmitWorkflowResponse,
  type Workflow,
} from '../../../libs/contracts/src';
import { startInfra, type Infra } from '../../../libs/testing/src/infra/infra';
import { freePort, ManagedProcess } from '../../../libs/testing/src/infra/managed-process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
const token = 'bench-fanout-token-0123456789abcdef';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const num = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const pairs = (name: string): Record<string, string> =>
  Object.fromEntries(
    argv
      .flatMap((a, i) => (a === `--${name}` && argv[i + 1] ? [argv[i + 1] as string] : []))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

const opts = {
  items: num('items', 100_000),
  parallelism: num('parallelism', 10),
  simMs: num('sim-ms', 100),
  runSeconds: num('run-seconds', 15),
  timeoutSeconds: num('timeout-seconds', 600),
  fromSource: flag('from-source'),
  build: !flag('no-build'),
  nodeFlags: (() => {
    const i = argv.indexOf('--node-flags');
    return (i >= 0 ? (argv[i + 1] ?? '') : '--enable-source-maps').split(' ').filter(Boolean);
  })(),
  schedulerEnv: pairs('scheduler-env'),
  launcherEnv: pairs('launcher-env'),
};

const t0 = Date.now();
const stamp = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
const progress = (line: string): void => console.log(`[${stamp()}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB (${((kib * 1024) / 1e6).toFixed(1)} MB)`;

/** VmHWM / VmRSS of a process, in KiB, polled every 200 ms (VmHWM is the kernel's own peak). */
class MemoryProbe {
  peakKiB = 0;
  lastKiB = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly pid: () => number | undefined) {}
  sample(): void {
    const pid = this.pid();
    if (!pid) return;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      this.lastKiB = kib('VmRSS');
      this.peakKiB = Math.max(this.peakKiB, kib('VmHWM'), this.lastKiB);
    } catch {
      // exited
    }
  }
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 200);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

function unary<Res>(client: grpc.Client, method: string, request: unknown, deadlineMs = 60_000): Promise<Res> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((ok, fail) => {
    const fn = (client as unknown as Record<string, (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, request, metadata, { deadline: Date.now() + deadlineMs }, (error, value) => (error ? fail(error) : ok(value)));
  });
}

const readyz = (port: number) => async (): Promise<boolean> => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
};

function serviceProcess(app: string, dir: string, env: Record<string, string>, opsPort: number): ManagedProcess {
  const main = opts.fromSource ? ['--import', 'tsx', join(root, `apps/${app}/src/main.ts`)] : [join(root, `dist/apps/${app}/main.js`)];
  return new ManagedProcess({
    name: app,
    command: process.execPath,
    args: [...opts.nodeFlags, ...main],
    cwd: root,
    env: { WHARF_LOG_LEVEL: 'info', NODE_NO_WARNINGS: '1', ...env },
    logFile: join(dir, `${app}.log`),
    ready: readyz(opsPort),
    readyTimeoutMs: 180_000,
  });
}

const jobStateName = (s: JobState | undefined): string => (s === undefined ? '-' : jobStateToJSON(s).replace('JOB_STATE_', ''));
/** The last run of a job: "CREATED", "REJECTED (KubernetesRejected: …)". */
const runSummary = (job: Job | undefined): string => {
  const run = job?.runs.at(-1);
  if (!run) return 'no run';
  const why = [run.reason, run.message].filter(Boolean).join(': ');
  return `run ${run.number} ${runStateToJSON(run.state).replace('RUN_STATE_', '')}${why ? ` (${why.slice(0, 300)})` : ''}`;
};

/** Warnings and errors a service logged (kafkajs noise aside), counted by message. */
function logSummary(app: string, file: string): string {
  const counts = new Map<string, number>();
  for (const line of existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string; component?: string; err?: { message?: string } };
      if ((entry.level !== 'warn' && entry.level !== 'error') || entry.component === 'kafkajs') continue;
      const key = `${entry.level} ${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message.slice(0, 200)}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {
      // not a log line
    }
  }
  const lines = [...counts].map(([key, n]) => `  ${n} × ${key}`);
  return `${app} warnings/errors: ${lines.length === 0 ? 'none' : `\n${lines.join('\n')}`}`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-fanout-'));
  const ns = `fanout-${Date.now().toString(36)}`;
  progress(`fan-out bench: ${opts.items} items, parallelism ${opts.parallelism}, sim ${opts.simMs} ms, node flags [${opts.nodeFlags.join(' ')}]; logs in ${dir}`);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => progress(`stop failed: ${String(e)}`));
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

  try {
    if (opts.build && !opts.fromSource) {
      for (const app of ['apps/scheduler', 'apps/job-launcher']) {
        progress(execFileSync(process.execPath, [join(root, 'tools/build/bundle.mjs'), app], { cwd: root, encoding: 'utf8' }).trim());
      }
    }
    if (!opts.fromSource && !existsSync(join(root, 'dist/apps/scheduler/main.js'))) throw new Error('no bundle: drop --no-build');

    let brokers = process.env['WHARF_KAFKA_BROKERS'];
    let kubeconfig = process.env['WHARF_KUBE_KUBECONFIG'];
    if (!brokers || !kubeconfig) {
      progress('starting Kafka and Kubernetes (KWOK)…');
      const infra: Infra = await startInfra({ kafka: true, kube: true, workDir: join(dir, 'infra'), cleanup: true, log: (l) => progress(`infra: ${l}`) });
      stops.push(() => infra.stop());
      brokers = infra.env()['WHARF_KAFKA_BROKERS'] ?? '';
      kubeconfig = infra.env()['WHARF_KUBE_KUBECONFIG'] ?? '';
    } else {
      progress(`using the running stack: kafka ${brokers}, kubeconfig ${kubeconfig}`);
    }

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    stops.push(async () => {
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
    });

    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `tenants:\n  - name: bench\n    tokens: ["${token}"]\n`);
    const grpcPort = await freePort();
    const schedulerOps = await freePort();
    const launcherOps = await freePort();
    const common = { WHARF_KAFKA_BROKERS: brokers, WHARF_KUBE_KUBECONFIG: kubeconfig };
    const schedulerEnv = {
      ...common,
      WHARF_AUTH_TOKENS_FILE: tokens,
      WHARF_GRPC_HOST: '127.0.0.1',
      WHARF_GRPC_PORT: String(grpcPort),
      WHARF_OPS_PORT: String(schedulerOps),
      WHARF_STATE_NAMESPACE: ns,
      WHARF_ADMISSION_INTERVAL_MS: '100',
      WHARF_QUEUES: JSON.stringify([{ name: 'batch', tenants: ['bench'], namespaces: [ns], quota: { cpu: 64 } }]),
      // The job-level item limit (default 10,000) must allow the fan-out: see README.
      WHARF_LIMITS_MAX_ITEMS: String(Math.max(opts.items, 10_000)),
      ...opts.schedulerEnv,
    };
    const launcherEnv = {
      ...common,
      WHARF_OPS_PORT: String(launcherOps),
      WHARF_POLICY_NAMESPACES: ns,
      WHARF_POLICY_MAX_ITEMS: String(Math.max(opts.items, 10_000)),
      WHARF_LAUNCHER_LAUNCH_TOPIC: `${ns}.wharf.launch`,
      WHARF_LAUNCHER_OBSERVATIONS_TOPIC: `${ns}.wharf.observations`,
      WHARF_LAUNCHER_GROUP_ID: `${ns}.launcher`,
      WHARF_LAUNCHER_TOPIC_PARTITIONS: '3',
      WHARF_RENDER_ARCHIVE_FINALIZER: 'false',
      ...opts.launcherEnv,
    };
    const scheduler = serviceProcess('scheduler', dir, schedulerEnv, schedulerOps);
    const launcher = serviceProcess('job-launcher', dir, launcherEnv, launcherOps);
    const schedulerMemory = new MemoryProbe(() => scheduler.pid);
    const launcherMemory = new MemoryProbe(() => launcher.pid);
    progress('starting scheduler…');
    await scheduler.start();
    stops.push(() => scheduler.stop());
    schedulerMemory.start();
    stops.push(async () => schedulerMemory.stop());
    progress('starting job-launcher…');
    await launcher.start();
    stops.push(() => launcher.stop());
    launcherMemory.start();
    stops.push(async () => launcherMemory.stop());
    await sleep(2_000);
    schedulerMemory.sample();
    const baseline = { rss: schedulerMemory.lastKiB, peak: schedulerMemory.peakKiB };
    progress(`ready; scheduler RSS ${mb(baseline.rss)} (peak so far ${mb(baseline.peak)}), job-launcher RSS ${mb(launcherMemory.lastKiB)}`);

    const address = `127.0.0.1:${grpcPort}`;
    const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    const workflows = new WorkflowServiceClient(address, grpc.credentials.createInsecure(), options);
    const jobs = new JobServiceClient(address, grpc.credentials.createInsecure(), options);
    stops.push(async () => {
      workflows.close();
      jobs.close();
    });

    const items = Array.from({ length: opts.items }, (_, i) => String(i));
    const spec = {
      name: 'fanout',
      namespace: ns,
      queue: 'batch',
      tasks: [
        {
          name: 'each',
          withItems: items,
          template: { image: 'busybox:1.36', command: ['work'], parallelism: opts.parallelism, annotations: { 'wharf.dev/sim-duration-ms': String(opts.simMs) } },
        },
      ],
    };
    const text = JSON.stringify(spec);
    progress(`submitting the workflow (JSON text, ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB)…`);
    const submittedAt = performance.now();
    const since = () => Math.round(performance.now() - submittedAt);
    let response: SubmitWorkflowResponse;
    try {
      response = await unary<SubmitWorkflowResponse>(workflows, 'submitWorkflow', { text, idempotencyKey: '', dryRun: false }, 120_000);
    } catch (error) {
      const e = error as grpc.ServiceError;
      throw new Error(`SubmitWorkflow failed after ${since()} ms: ${grpc.status[e.code] ?? e.code} ${e.details ?? e.message}`);
    }
    const submitMs = since();
    const workflowId = response.workflow?.workflowId ?? '';
    const jobId = response.workflow?.tasks.find((t) => t.name === 'each')?.jobId ?? '';
    progress(`submitted in ${submitMs} ms: workflow ${workflowId}, task job ${jobId || '(none yet)'}`);

    const marks: Record<string, number | undefined> = { submitRpc: submitMs };
    const mark = (name: string, note = ''): void => {
      if (marks[name] !== undefined) return;
      marks[name] = since();
      progress(`${name} at +${marks[name]} ms ${note}`);
    };
    let k8sJobs: V1Job[] = [];
    let job: Job | undefined;
    let workflow: Workflow | undefined = response.workflow;
    let lastLine = '';
    const deadline = Date.now() + opts.timeoutSeconds * 1000;
    let endedEarly = '';
    let runUntil = Infinity;
    let jobFetchedAt = 0;
    let currentState: JobState | undefined;
    while (Date.now() < deadline && Date.now() < runUntil) {
      const jobIdNow = jobId || workflow?.tasks.find((t) => t.name === 'each')?.jobId || '';
      if (!jobIdNow) workflow = await unary<Workflow>(workflows, 'getWorkflow', { workflowId });
      if (jobIdNow) {
        // ExplainJob is a few bytes; GetJob answers the whole spec (every item), so it is asked
        // only when the state changed and every 5 s: the scheduler's RSS is the figure here.
        const explained = await unary<{ state: JobState }>(jobs, 'explainJob', { jobId: jobIdNow }).catch(() => undefined);
        if (!job || (explained && explained.state !== job.state) || Date.now() - jobFetchedAt > 5_000) {
          job = await unary<Job>(jobs, 'getJob', { jobId: jobIdNow }).catch(() => job);
          jobFetchedAt = Date.now();
        }
        const state = explained?.state ?? job?.state;
        currentState = state;
        // Admission creates the job's first run (PENDING until job-launcher's Job shows up).
        if (state === JobState.JOB_STATE_ADMITTED || state === JobState.JOB_STATE_RUNNING || (job?.runs.length ?? 0) > 0) mark('jobAdmitted');
        if (state === JobState.JOB_STATE_RUNNING || state === JobState.JOB_STATE_SUCCEEDED) mark('jobRunning');
        if (state === JobState.JOB_STATE_SUCCEEDED || state === JobState.JOB_STATE_FAILED || state === JobState.JOB_STATE_CANCELLED) {
          workflow = await unary<Workflow>(workflows, 'getWorkflow', { workflowId });
          endedEarly = `task job ended ${jobStateName(state)}: ${job?.message || ''}; ${runSummary(job)}`;
        }
      }
      k8sJobs = (await batch.listNamespacedJob({ namespace: ns, labelSelector: `wharf.dev/workflow-id=${workflowId}` })).items;
      const indexed = k8sJobs.find((j) => j.spec?.completions === opts.items && j.spec.completionMode === 'Indexed');
      if (indexed) {
        mark('kubeJobCreated', `(${indexed.metadata?.name}, completions ${indexed.spec?.completions}, suspend ${String(indexed.spec?.suspend)})`);
        if (!indexed.spec?.suspend) {
          mark('kubeJobResumed', '(ConfigMap of items created: every index admissible)');
          if (runUntil === Infinity) runUntil = Date.now() + opts.runSeconds * 1000;
        }
      }
      schedulerMemory.sample();
      const s = indexed?.status;
      const line = `job ${jobStateName(currentState)}, ${runSummary(job)}, k8s Jobs ${k8sJobs.length}${s ? `, active ${s.active ?? 0} succeeded ${s.succeeded ?? 0} failed ${s.failed ?? 0}` : ''}; scheduler RSS ${mb(schedulerMemory.lastKiB)} peak ${mb(schedulerMemory.peakKiB)}`;
      if (line !== lastLine) {
        progress(line);
        lastLine = line;
      }
      if (endedEarly) break;
      await sleep(250);
    }
    if (!endedEarly && marks['kubeJobResumed'] === undefined) endedEarly = `timed out after ${opts.timeoutSeconds} s`;

    if (jobId) job = await unary<Job>(jobs, 'getJob', { jobId }).catch(() => job);
    const configMaps = (await core.listNamespacedConfigMap({ namespace: ns, labelSelector: `wharf.dev/workflow-id=${workflowId}` })).items;
    workflow = await unary<Workflow>(workflows, 'getWorkflow', { workflowId }).catch(() => workflow);
    schedulerMemory.sample();
    launcherMemory.sample();
    const indexed = k8sJobs.find((j) => j.spec?.completions === opts.items);
    const result = {
      items: opts.items,
      specTextKiB: Math.round(Buffer.byteLength(text) / 1024),
      submitRpcMs: submitMs,
      submitToAdmittedMs: marks['jobAdmitted'] ?? null,
      submitToRunningMs: marks['jobRunning'] ?? null,
      submitToKubeJobMs: marks['kubeJobCreated'] ?? null,
      submitToAllIndexesAdmissibleMs: marks['kubeJobResumed'] ?? null,
      kubeJobsForWorkflow: k8sJobs.length,
      kubeJobCompletions: indexed?.spec?.completions ?? null,
      kubeJobStatus: indexed?.status ? { active: indexed.status.active ?? 0, succeeded: indexed.status.succeeded ?? 0, failed: indexed.status.failed ?? 0 } : null,
      configMaps: configMaps.length,
      schedulerBaselineRssMiB: Number((baseline.rss / 1024).toFixed(1)),
      schedulerPeakRssMiB: Number((schedulerMemory.peakKiB / 1024).toFixed(1)),
      schedulerPeakRssMB: Number(((schedulerMemory.peakKiB * 1024) / 1e6).toFixed(1)),
      schedulerEndRssMiB: Number((schedulerMemory.lastKiB / 1024).toFixed(1)),
      launcherPeakRssMiB: Number((launcherMemory.peakKiB / 1024).toFixed(1)),
      jobState: jobStateName(job?.state),
      lastRun: runSummary(job),
      taskState: ((state) => (state === undefined ? '-' : taskStateToJSON(state).replace('TASK_STATE_', '')))(workflow?.tasks.find((t) => t.name === 'each')?.state),
      note: endedEarly || undefined,
    };

    progress('cancelling the workflow…');
    await unary(workflows, 'cancelWorkflow', { workflowId, reason: 'benchmark over' }).catch((e: unknown) => progress(`cancel: ${String(e)}`));
    console.log('\nRESULT');
    console.log(JSON.stringify(result, null, 2));
    console.log(
      [
        `goal 1 Kubernetes Job: ${result.kubeJobsForWorkflow === 1 && result.kubeJobCompletions === opts.items && result.submitToAllIndexesAdmissibleMs !== null ? 'met' : 'NOT met'} (${result.kubeJobsForWorkflow} Job(s), completions ${String(result.kubeJobCompletions)}${result.kubeJobsForWorkflow > 0 && result.submitToAllIndexesAdmissibleMs === null ? ', still suspended: its ConfigMap of items was never created' : ''})`,
        `goal scheduler RSS ≤ 300 MB: ${result.schedulerPeakRssMB <= 300 ? 'met' : 'NOT met'} (peak ${result.schedulerPeakRssMB} MB)`,
        `submit → all indexes admissible: ${result.submitToAllIndexesAdmissibleMs === null ? 'never' : `${result.submitToAllIndexesAdmissibleMs} ms`}`,
      ].join('\n'),
    );
    if (endedEarly) console.log(`note: ${endedEarly}`);
    for (const app of ['scheduler', 'job-launcher']) console.log(logSummary(app, join(dir, `${app}.log`)));
    await sleep(1_000);
  } finally {
    progress('stopping everything this bench started…');
    await stopAll();
    progress('done');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
