/**
 * Workflows end to end: the scheduler and job-launcher as real processes (from source) against
 * the real Kafka and kube-apiserver, pods simulated by KWOK's container simulator.
 */
import * as grpc from '@grpc/grpc-js';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import {
  JobServiceClient,
  TaskState,
  Topics,
  WorkflowServiceClient,
  WorkflowState,
  type Job,
  type SubmitWorkflowResponse,
  type Workflow,
} from '@wharf/contracts';
import { eventually, freePort, ManagedProcess, testInfra, uniqueName } from '@wharf/testing';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { follow, kafkaClient, tokens, topicOf, unary, writeTokensFile } from './scheduler-harness';

const root = resolve(__dirname, '../../..');
const ns = uniqueName('it-wf');
const tokensFile = writeTokensFile();
// The scheduler seals inline secret values with this key; the launcher opens them with it.
const sealKeyFile = join(tmpdir(), `${ns}-seal.key`);
writeFileSync(sealKeyFile, randomBytes(32).toString('base64'), { mode: 0o600 });

function tsxProcess(name: string, main: string, env: Record<string, string>, ready: () => Promise<boolean>): ManagedProcess {
  return new ManagedProcess({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', join(root, main)],
    cwd: root,
    env: { WHARF_LOG_LEVEL: process.env['WHARF_TEST_LOG_LEVEL'] ?? 'info', WHARF_KAFKA_BROKERS: testInfra().kafka.brokers.join(','), ...env },
    logFile: join(tmpdir(), `${ns}-${name}.log`),
    ready,
    readyTimeoutMs: 120_000,
  });
}

const readyz = (port: number) => async (): Promise<boolean> => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
};

class KubeProbe {
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;
  constructor() {
    const kc = new KubeConfig();
    kc.loadFromFile(testInfra().kube.kubeconfigPath);
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
  }
  async createNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
  }
  /** A Secret with these keys, merged into an existing one. */
  async secret(namespace: string, name: string, key: string): Promise<void> {
    const data = { [key]: Buffer.from('example').toString('base64') };
    try {
      const found = await this.core.readNamespacedSecret({ namespace, name });
      await this.core.replaceNamespacedSecret({ namespace, name, body: { ...found, data: { ...found.data, ...data } } });
    } catch {
      await this.core.createNamespacedSecret({ namespace, body: { metadata: { name }, data } });
    }
  }

  /** A PVC and a PV bound to it (pods with an unbound claim are never scheduled). */
  async boundClaim(namespace: string, name: string): Promise<void> {
    const pv = `${namespace}-${name}`;
    await this.core.createPersistentVolume({
      body: {
        metadata: { name: pv },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          hostPath: { path: `/tmp/${pv}` },
          storageClassName: '',
          claimRef: { namespace, name },
        },
      },
    });
    await this.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: pv, resources: { requests: { storage: '1Gi' } } } },
    });
  }

  async serviceAccount(namespace: string, name: string): Promise<void> {
    await this.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  }

  /** The data of the Secrets owned by a job's runs, decoded. */
  async secretValues(namespace: string, jobId: string): Promise<string[]> {
    const { items } = await this.core.listNamespacedSecret({ namespace, labelSelector: `wharf.dev/job-id=${jobId}` });
    return items.flatMap((secret) => Object.values(secret.data ?? {}).map((b64) => Buffer.from(b64, 'base64').toString('utf8')));
  }

  async jobs(namespace: string): Promise<V1Job[]> {
    return (await this.batch.listNamespacedJob({ namespace })).items;
  }
}

const stateName = (s: TaskState): string => Object.entries(TaskState).find(([, v]) => v === s)?.[0].replace('TASK_STATE_', '') ?? String(s);
const states = (w: Workflow): Record<string, string> => Object.fromEntries(w.tasks.map((t) => [t.name, stateName(t.state)]));
const task = (w: Workflow, name: string) => {
  const t = w.tasks.find((x) => x.name === name);
  if (!t) throw new Error(`no task ${name}`);
  return t;
};

/** A task template: a simulated container that runs `ms` and prints `log`. */
const tmpl = (annotations: Record<string, string> = {}) => ({
  image: 'busybox:1.36',
  command: ['work'],
  annotations: { 'wharf.dev/sim-duration-ms': '200', ...annotations },
});

describe('workflows (scheduler + job-launcher processes, real Kafka and Kubernetes with KWOK)', () => {
  const kube = new KubeProbe();
  let scheduler: ManagedProcess;
  let launcher: ManagedProcess;
  let workflows: InstanceType<typeof WorkflowServiceClient>;
  let jobs: InstanceType<typeof JobServiceClient>;

  const submit = (spec: Record<string, unknown>, idempotencyKey = '') =>
    unary<unknown, SubmitWorkflowResponse>(workflows, 'submitWorkflow', { text: stringify({ ...spec, namespace: ns, queue: 'batch' }), idempotencyKey, dryRun: false }, tokens.acme);
  const get = (workflowId: string) => unary<unknown, Workflow>(workflows, 'getWorkflow', { workflowId }, tokens.acme);
  const getJob = (jobId: string) => unary<unknown, Job>(jobs, 'getJob', { jobId }, tokens.acme);
  const ended = async (workflowId: string, timeoutMs = 120_000): Promise<Workflow> => {
    let last: Workflow | undefined;
    await eventually(
      async () => {
        last = await get(workflowId);
        expect([WorkflowState.WORKFLOW_STATE_SUCCEEDED, WorkflowState.WORKFLOW_STATE_FAILED, WorkflowState.WORKFLOW_STATE_CANCELLED]).toContain(last.state);
      },
      { timeoutMs, intervalMs: 250, description: `workflow ${workflowId} to end (tasks: ${JSON.stringify(last ? states(last) : {})})` },
    );
    return last as Workflow;
  };

  beforeAll(async () => {
    await kube.createNamespace(ns);
    const grpcPort = await freePort();
    const opsPort = await freePort();
    const launcherOps = await freePort();
    scheduler = tsxProcess(
      'scheduler',
      'apps/scheduler/src/main.ts',
      {
        WHARF_KUBE_KUBECONFIG: testInfra().kube.kubeconfigPath,
        WHARF_AUTH_TOKENS_FILE: tokensFile,
        WHARF_SECRETS_SEAL_KEY_FILE: sealKeyFile,
        WHARF_GRPC_HOST: '127.0.0.1',
        WHARF_GRPC_PORT: String(grpcPort),
        WHARF_OPS_PORT: String(opsPort),
        WHARF_STATE_NAMESPACE: ns,
        WHARF_ADMISSION_INTERVAL_MS: '100',
        WHARF_QUEUES: JSON.stringify([{ name: 'batch', tenants: ['acme'], namespaces: [ns], quota: { cpu: 64 } }]),
      },
      readyz(opsPort),
    );
    launcher = tsxProcess(
      'job-launcher',
      'apps/job-launcher/src/main.ts',
      {
        WHARF_KUBE_KUBECONFIG: testInfra().kube.kubeconfigPath,
        WHARF_OPS_PORT: String(launcherOps),
        WHARF_POLICY_NAMESPACES: ns,
        WHARF_SECRETS_SEAL_KEY_FILE: sealKeyFile,
        // The examples name their real images and service account.
        WHARF_POLICY_IMAGES: '*',
        WHARF_POLICY_SERVICE_ACCOUNTS: '*',
        WHARF_LAUNCHER_LAUNCH_TOPIC: `${ns}.wharf.launch`,
        WHARF_LAUNCHER_OBSERVATIONS_TOPIC: `${ns}.wharf.observations`,
        WHARF_LAUNCHER_GROUP_ID: `${ns}.launcher`,
        WHARF_LAUNCHER_TOPIC_PARTITIONS: '3',
        // No log-archiver here: Jobs go as soon as they end.
        WHARF_RENDER_ARCHIVE_FINALIZER: 'false',
      },
      readyz(launcherOps),
    );
    await scheduler.start();
    await launcher.start();
    workflows = new WorkflowServiceClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    jobs = new JobServiceClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    workflows?.close();
    jobs?.close();
    await launcher?.stop();
    await scheduler?.stop();
  });

  it('seals inline secret values: Kafka carries only sealed text, the launched Secret the values', async () => {
    const literal = `literal-canary-${randomBytes(6).toString('hex')}`;
    const templated = `templated-canary-${randomBytes(6).toString('hex')}`;
    const { workflow } = await submit({
      name: 'sealed',
      parameters: { token: templated },
      tasks: [
        {
          name: 'hold',
          template: {
            ...tmpl({ 'wharf.dev/sim-duration-ms': '600000' }),
            secrets: [
              { env: 'LITERAL', value: literal },
              { env: 'TEMPLATED', value: '{{ params.token }}' },
            ],
          },
        },
      ],
    });
    const id = workflow?.workflowId ?? '';
    let jobId = '';
    await eventually(async () => {
      jobId = task(await get(id), 'hold').jobId;
      expect(jobId).not.toBe('');
    });
    // job-launcher opened both values into the run's owned Secret.
    await eventually(async () => expect((await kube.secretValues(ns, jobId)).sort()).toEqual([literal, templated].sort()), {
      timeoutMs: 60_000,
      description: `the owned Secret of ${jobId}`,
    });
    // What went through Kafka about the job: sealed text only.
    const kafka = kafkaClient();
    const raw = (value: Buffer) => value;
    const topics = [Topics.jobsState, Topics.launch, Topics.jobEvents].map((t) => topicOf(ns, t));
    const followed = await Promise.all(topics.map((t) => follow(kafka, t, raw)));
    try {
      const [state, launch] = followed.map((f) => f.items);
      await eventually(() => {
        expect(state?.some((r) => r.key === jobId)).toBe(true);
        expect(launch?.some((r) => r.key === jobId)).toBe(true);
      });
      const bytes = Buffer.concat(followed.flatMap((f) => f.items.map((r) => r.value)));
      expect(bytes.includes(literal)).toBe(false);
      expect(bytes.includes(templated)).toBe(false);
      expect(bytes.includes('wharf-sealed:v1:')).toBe(true);
    } finally {
      await Promise.all(followed.map((f) => f.consumer.disconnect()));
    }
    // The workflow's own record: the literal value is sealed (parameters are stored as given).
    const wfState = await follow(kafka, topicOf(ns, Topics.workflowsState), raw);
    try {
      await eventually(() => expect(wfState.items.some((r) => r.key === id)).toBe(true));
      expect(Buffer.concat(wfState.items.map((r) => r.value)).includes(literal)).toBe(false);
    } finally {
      await wfState.consumer.disconnect();
    }
    await unary(workflows, 'cancelWorkflow', { workflowId: id, reason: 'test done' }, tokens.acme);
    expect((await ended(id)).state).toBe(WorkflowState.WORKFLOW_STATE_CANCELLED);
  });

  it('runs a diamond DAG in dependency order', async () => {
    const { workflow } = await submit({
      name: 'diamond',
      tasks: [
        { name: 'a', template: tmpl() },
        { name: 'b', dependsOn: ['a'], template: tmpl() },
        { name: 'c', dependsOn: ['a'], template: tmpl() },
        { name: 'd', dependsOn: ['b', 'c'], template: tmpl() },
      ],
    });
    const done = await ended(workflow?.workflowId ?? '');
    expect(states(done)).toEqual({ a: 'SUCCEEDED', b: 'SUCCEEDED', c: 'SUCCEEDED', d: 'SUCCEEDED' });
    expect(done.state).toBe(WorkflowState.WORKFLOW_STATE_SUCCEEDED);
    const at = (name: string, field: 'startedAt' | 'finishedAt') => task(done, name)[field]?.getTime() ?? NaN;
    expect(at('b', 'startedAt')).toBeGreaterThanOrEqual(at('a', 'finishedAt'));
    expect(at('c', 'startedAt')).toBeGreaterThanOrEqual(at('a', 'finishedAt'));
    expect(at('d', 'startedAt')).toBeGreaterThanOrEqual(Math.max(at('b', 'finishedAt'), at('c', 'finishedAt')));
  });

  it('recovers a failed task by its retries; skips a `when: false` task and its dependents; runs finally after a failure', async () => {
    const { workflow } = await submit({
      name: 'rules',
      tasks: [
        { name: 'flaky', retries: 1, template: tmpl({ 'wharf.dev/sim-exit-code': '1', 'wharf.dev/sim-fail-attempts': '1' }) },
        { name: 'never', dependsOn: ['flaky'], when: '1 = 2', template: tmpl() },
        { name: 'after-never', dependsOn: ['never'], template: tmpl() },
        { name: 'broken', dependsOn: ['flaky'], template: tmpl({ 'wharf.dev/sim-exit-code': '3' }) },
      ],
      finally: [{ name: 'report', template: tmpl() }],
    });
    const done = await ended(workflow?.workflowId ?? '');
    expect(states(done)).toEqual({ flaky: 'SUCCEEDED', never: 'SKIPPED', 'after-never': 'SKIPPED', broken: 'FAILED', report: 'SUCCEEDED' });
    expect(done.state).toBe(WorkflowState.WORKFLOW_STATE_FAILED);
    expect(done.message).toMatch(/task "broken" failed/);
    // The retry happened inside the task's one job (a per-index retry), not as a second job.
    const flaky = await getJob(task(done, 'flaky').jobId);
    expect(flaky.runs).toHaveLength(1);
    expect(task(done, 'report').startedAt?.getTime()).toBeGreaterThanOrEqual(task(done, 'broken').finishedAt?.getTime() ?? NaN);
  });

  it('fans out over an upstream output list as ONE Indexed Job; downstream sees per-index outputs', async () => {
    const { workflow } = await submit({
      name: 'fanout',
      tasks: [
        { name: 'list', template: tmpl({ 'wharf.dev/sim-log': '::wharf-output:: ["x","y","z"]\n' }) },
        {
          name: 'each',
          dependsOn: ['list'],
          withParam: '{{ tasks.list.output }}',
          template: { ...tmpl({ 'wharf.dev/sim-log': 'working\n::wharf-output:: {"index": ${JOB_COMPLETION_INDEX}}\n' }), parallelism: 3 },
        },
        { name: 'sum', dependsOn: ['each'], template: { ...tmpl(), args: ['{{ tasks.each.output }}'] } },
      ],
    });
    const done = await ended(workflow?.workflowId ?? '');
    expect(states(done)).toEqual({ list: 'SUCCEEDED', each: 'SUCCEEDED', sum: 'SUCCEEDED' });
    expect(JSON.parse(task(done, 'list').outputJson)).toEqual(['x', 'y', 'z']);
    expect(JSON.parse(task(done, 'each').outputJson)).toEqual([{ index: 0 }, { index: 1 }, { index: 2 }]);
    const each = await getJob(task(done, 'each').jobId);
    expect(each.spec?.items).toEqual(['x', 'y', 'z']);
    expect(each.runs).toHaveLength(1);
    expect(each.runs[0]?.indexes?.total).toBe(3);
    const sum = await getJob(task(done, 'sum').jobId);
    expect(sum.spec?.args).toEqual(['[{"index":0},{"index":1},{"index":2}]']);
  });

  it('cancels mid-flight: running tasks stop, nothing new runs', async () => {
    const { workflow } = await submit({
      name: 'cancel',
      tasks: [
        { name: 'long', template: tmpl({ 'wharf.dev/sim-duration-ms': '600000' }) },
        { name: 'next', dependsOn: ['long'], template: tmpl() },
      ],
    });
    const id = workflow?.workflowId ?? '';
    await eventually(async () => expect((await getJob(task(await get(id), 'long').jobId)).runs[0]?.startedAt).toBeDefined(), {
      timeoutMs: 120_000,
      description: 'the long task to start',
    });
    await unary(workflows, 'cancelWorkflow', { workflowId: id, reason: 'changed my mind' }, tokens.acme);
    const done = await ended(id);
    expect(done.state).toBe(WorkflowState.WORKFLOW_STATE_CANCELLED);
    expect(states(done)).toEqual({ long: 'CANCELLED', next: 'CANCELLED' });
    expect(task(done, 'next').jobId).toBe('');
    const jobName = (await getJob(task(done, 'long').jobId)).runs[0]?.jobName ?? '';
    await eventually(async () => expect((await kube.jobs(ns)).map((j) => j.metadata?.name)).not.toContain(jobName), {
      timeoutMs: 60_000,
      description: 'the long task’s Kubernetes Job to be deleted',
    });
  });

  it('rejects a workflow naming a missing Secret and a missing PVC before anything runs, naming both', async () => {
    const error = await submit({
      name: 'missing',
      workspaces: [{ name: 'src', claimName: 'no-such-claim' }],
      tasks: [
        {
          name: 'a',
          workspaces: [{ name: 'src', mountPath: '/workspace' }],
          template: { ...tmpl(), secrets: [{ env: 'TOKEN', secretRef: { name: 'no-such-secret', key: 'token' } }] },
        },
      ],
    }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error?.details).toMatch(/no-such-secret/);
    expect(error?.details).toMatch(/no-such-claim/);
    const list = await unary<unknown, { workflows: Workflow[] }>(workflows, 'listWorkflows', { states: [], pageSize: 0, pageToken: '' }, tokens.acme);
    expect(list.workflows.map((w) => w.spec?.name)).not.toContain('missing');
  });

  it('survives kill -9 of the scheduler mid-workflow: it completes and no finished task runs twice', async () => {
    const { workflow } = await submit({
      name: 'chain',
      tasks: [
        { name: 'one', template: tmpl() },
        { name: 'two', dependsOn: ['one'], template: tmpl({ 'wharf.dev/sim-duration-ms': '3000' }) },
        { name: 'three', dependsOn: ['two'], template: tmpl() },
      ],
    });
    const id = workflow?.workflowId ?? '';
    await eventually(async () => expect(task(await get(id), 'two').state).toBe(TaskState.TASK_STATE_RUNNING), {
      timeoutMs: 120_000,
      intervalMs: 100,
      description: 'task two to run',
    });
    await scheduler.kill();
    await scheduler.start();
    const done = await ended(id);
    expect(states(done)).toEqual({ one: 'SUCCEEDED', two: 'SUCCEEDED', three: 'SUCCEEDED' });
    for (const name of ['one', 'two', 'three']) {
      const job = await getJob(task(done, name).jobId);
      expect(job.runs).toHaveLength(1);
      const k8sJobs = (await kube.jobs(ns)).filter((j) => j.metadata?.labels?.['wharf.dev/job-id'] === job.jobId);
      expect(k8sJobs).toHaveLength(1);
    }
  });

  const examplesDir = join(root, 'examples/workflows');
  it.each(readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')))(
    'runs examples/workflows/%s on the local stack once the objects it names exist',
    async (file) => {
      const spec = parse(readFileSync(join(examplesDir, file), 'utf8')) as Record<string, unknown>;
      const tasks = [...((spec['tasks'] as unknown[]) ?? []), ...((spec['finally'] as unknown[]) ?? [])] as {
        template?: { secrets?: { secretRef?: { name: string; key: string } }[]; serviceAccount?: string };
      }[];
      for (const t of tasks) {
        for (const s of t.template?.secrets ?? []) if (s.secretRef) await kube.secret(ns, s.secretRef.name, s.secretRef.key);
        if (t.template?.serviceAccount) await kube.serviceAccount(ns, t.template.serviceAccount).catch(() => undefined);
      }
      for (const w of (spec['workspaces'] as { claimName: string }[] | undefined) ?? []) await kube.boundClaim(ns, w.claimName).catch(() => undefined);
      const { workflow } = await submit({ ...spec });
      const done = await ended(workflow?.workflowId ?? '', 180_000);
      // The tasks that did not succeed, with why, so a failure says what went wrong.
      const unsuccessful = done.tasks.filter((t) => t.state !== TaskState.TASK_STATE_SUCCEEDED).map((t) => `${t.name}: ${stateName(t.state)} ${t.message}`);
      expect(unsuccessful).toEqual([]);
      expect(done.state).toBe(WorkflowState.WORKFLOW_STATE_SUCCEEDED);
    },
  );
});
