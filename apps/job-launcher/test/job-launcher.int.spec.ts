import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import { ContentTypes, ExitCodeRule_Action, type LaunchCommand, type LaunchRun } from '@wharf/contracts';
import { eventually } from '@wharf/testing';
import { defaultRenderOptions, inputsChunkBytes, ownedBy, renderRun } from '../src/launch/job-renderer';
import { inputsChunkName, kubeJobName } from '../src/launch/launch-names';
import { launchRun, seed000 } from './launch-fixtures';
import {
  CommandSender,
  factsOf,
  KubeProbe,
  launcherConfig,
  LogCapture,
  observationTap,
  rawTap,
  startLauncher,
  testNames,
  type TestNames,
} from './launcher-harness';

/**
 * job-launcher against the real control plane (KWOK nodes) and the real Kafka: the issue's
 * "done when" list, except the kill -9 test (launcher-crash.int.spec.ts).
 */
describe('job-launcher (real Kafka, real Kubernetes with KWOK)', () => {
  const names: TestNames = testNames('jl');
  const kube = new KubeProbe();
  const logs = new LogCapture();
  const observations = observationTap(names.observationsTopic);
  const dlq = rawTap(`${names.launchTopic}.dlq`);
  const sender = new CommandSender(names.launchTopic);
  let launcher: Awaited<ReturnType<typeof startLauncher>>;

  const chunkBytes = 2_000;
  const launch = (run: LaunchRun): LaunchCommand => ({ launch: run, cancel: undefined });
  const inNs = (run: LaunchRun): LaunchRun => ({ ...run, spec: run.spec && { ...run.spec, namespace: names.namespace } });
  // Generous: on a loaded 2-core machine KWOK's container simulator can hold a pod for 60 s.
  const finished = (jobId: string, timeoutMs = 360_000) =>
    eventually(
      () => {
        const f = factsOf(observations.values(), jobId).finished;
        if (!f) throw new Error(`no finished observation for ${jobId}`);
        return f;
      },
      { timeoutMs, intervalMs: 200, description: `the run of ${jobId} to finish` },
    );

  beforeAll(async () => {
    await kube.createNamespace(names.namespace);
    await sender.start();
    // Small inputs ConfigMaps (render.inputsChunkBytes): the fan-out test below spreads its items
    // over several; the other tests' few short items fit one, as with the default.
    launcher = await startLauncher(launcherConfig(names, { WHARF_RENDER_INPUTS_CHUNK_BYTES: String(chunkBytes) }), logs.logger);
    await observations.start();
    await dlq.start();
  });

  afterAll(async () => {
    await launcher?.stop();
    await Promise.allSettled([observations.stop(), dlq.stop(), sender.stop()]);
  });

  it("runs seed 000's indexed example: each index sees its own item, succeeded indexes reported", async () => {
    const run = inNs(seed000('rev-items-1a2b3c4d5e6f7a8b'));
    // KWOK runs no container; the simulated log prints what the pod resolves for WHARF_INDEX.
    run.spec = run.spec && { ...run.spec, annotations: { 'wharf.dev/sim-log': 'index ${env:WHARF_INDEX}\n', 'wharf.dev/sim-duration-ms': '300' } };
    await sender.send([launch(run)]);
    const result = await finished(run.jobId);
    expect(result).toMatchObject({ succeeded: true, reason: 'Complete', counts: { total: 5, succeeded: 5, failed: 0 } });
    const facts = factsOf(observations.values(), run.jobId);
    expect(facts.created[0]?.created).toEqual({ namespace: names.namespace, jobName: kubeJobName(run.jobId, 1) });
    expect(facts.started.length).toBeGreaterThan(0);
    expect(new Set(facts.indexes.filter((r) => r?.succeeded).map((r) => r?.index))).toEqual(new Set([0, 1, 2, 3, 4]));

    // Each index's pod mounts item-$(WHARF_INDEX) of the ConfigMap, and its WHARF_INDEX is its own index.
    const jobName = kubeJobName(run.jobId, 1);
    const { body: cm } = { body: await kube.core.readNamespacedConfigMap({ namespace: names.namespace, name: `${jobName}-inputs` }) };
    expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: jobName });
    const pods = await kube.pods(names.namespace, `batch.kubernetes.io/job-name=${jobName}`);
    expect(pods).toHaveLength(5);
    const items = ['foo', 'bar', 'baz', 'qux', 'xyz'];
    for (const pod of pods) {
      const index = Number(pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']);
      const main = pod.spec?.containers.find((c) => c.name === 'main');
      const mount = main?.volumeMounts?.find((m) => m.mountPath === '/var/run/wharf/item');
      const key = mount?.subPathExpr?.replace('$(WHARF_INDEX)', String(index));
      expect(cm.data?.[key ?? '']).toBe(items[index]);
      const log = await kube.core.readNamespacedPodLog({ namespace: names.namespace, name: pod.metadata?.name ?? '', container: 'main' });
      expect(log).toBe(`index ${index}\n`);
    }
  });

  it('spreads a fan-out over several inputs ConfigMaps: every index, whatever its chunk, sees its own item', async () => {
    // 12 items of 400 bytes count ~423 bytes each: 4 per chunk of 2,000 bytes → 3 chunks.
    const items = Array.from({ length: 12 }, (_, i) => `item ${i} `.padEnd(400, String.fromCharCode(97 + i)));
    const annotations = {
      'wharf.dev/sim-log': 'index ${env:WHARF_INDEX} saw ${file:/var/run/wharf/item} with ${file:/var/run/wharf/inputs.json}\n',
      'wharf.dev/sim-duration-ms': '300',
    };
    const run = inNs(launchRun({ jobId: 'chunked-1a2b3c4d5e6f7a8b' }, { items, parallelism: 6, command: ['work'], inputs: { fan: 'out' }, annotations }));
    await sender.send([launch(run)]);
    const result = await finished(run.jobId);
    expect(result).toMatchObject({ succeeded: true, reason: 'Complete', counts: { total: 12, succeeded: 12, failed: 0 } });

    const jobName = kubeJobName(run.jobId, 1);
    const job = await kube.batch.readNamespacedJob({ namespace: names.namespace, name: jobName });
    const chunkNames = [0, 1, 2].map((c) => inputsChunkName(jobName, c));
    expect(job.spec?.template.spec?.volumes?.find((v) => v.name === 'wharf-inputs')?.projected?.sources?.map((s) => s.configMap?.name)).toEqual(chunkNames);
    const keys: string[] = [];
    for (const name of chunkNames) {
      const cm = await kube.core.readNamespacedConfigMap({ namespace: names.namespace, name });
      expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: jobName, uid: job.metadata?.uid });
      keys.push(...Object.keys(cm.data ?? {}));
    }
    expect(keys.sort()).toEqual(['inputs.json', ...items.map((_, i) => `item-${i}`)].sort());

    const pods = await kube.pods(names.namespace, `batch.kubernetes.io/job-name=${jobName}`);
    expect(pods).toHaveLength(12);
    for (const pod of pods) {
      const index = Number(pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']);
      const log = await kube.core.readNamespacedPodLog({ namespace: names.namespace, name: pod.metadata?.name ?? '', container: 'main' });
      expect(log).toBe(`index ${index} saw ${items[index]} with {"fan":"out"}\n`);
    }
  });

  it('stores every inputs ConfigMap of a 100,000-item fan-out at the default chunk size (apiserver and etcd limits)', async () => {
    // Issue #8's fan-out, created the way the launcher creates it (suspended Job, then its
    // chunks): the real apiserver validates the Job and the projected volume, etcd stores each
    // chunk (managedFields included) under its request limit. No pod runs: the Job stays suspended.
    const run = inNs(launchRun({ jobId: 'fan-out-100k-1a2b3c4d5e6f7a8b' }, { items: Array.from({ length: 100_000 }, (_, i) => String(i)), parallelism: 10, command: ['work'] }));
    const rendered = renderRun(run, { ...defaultRenderOptions, archiveFinalizer: false });
    expect(rendered.configMaps.length).toBeGreaterThanOrEqual(2);
    const job = await kube.batch.createNamespacedJob({ namespace: names.namespace, body: rendered.job as unknown as V1Job });
    expect(job.spec).toMatchObject({ completions: 100_000, suspend: true });
    try {
      let keys = 0;
      for (const chunk of rendered.configMaps) {
        expect(inputsChunkBytes(chunk)).toBeLessThanOrEqual(defaultRenderOptions.inputsChunkBytes);
        const owned = ownedBy(chunk, { name: job.metadata?.name ?? '', uid: job.metadata?.uid ?? '' });
        await kube.core.createNamespacedConfigMap({ namespace: names.namespace, body: owned as unknown as V1ConfigMap });
        const stored = await kube.core.readNamespacedConfigMap({ namespace: names.namespace, name: chunk.metadata.name ?? '' });
        keys += Object.keys(stored.data ?? {}).length;
      }
      expect(keys).toBe(100_001);
    } finally {
      // Gone before the next tests count the managed Jobs; the garbage collector takes the chunks.
      await kube.batch.deleteNamespacedJob({ namespace: names.namespace, name: job.metadata?.name ?? '', propagationPolicy: 'Background' });
      await eventually(async () => expect((await kube.jobs(names.namespace)).map((j) => j.metadata?.name)).not.toContain(job.metadata?.name), {
        timeoutMs: 30_000,
        description: 'the 100,000-item Job to be gone',
      });
    }
  });

  it("reports each index's task output of a workflow Job (the marker line of its log), and none for a plain Job", async () => {
    // Every pod prints its own index as the output (ADR 0007); the plain Job prints the same.
    const annotations = { 'wharf.dev/sim-log': 'working\n::wharf-output:: {"i": ${JOB_COMPLETION_INDEX}}\ndone\n', 'wharf.dev/sim-duration-ms': '300' };
    const spec = { items: ['a', 'b', 'c'], parallelism: 3, command: ['work'], annotations };
    // wharf.dev/* labels are reserved in spec.labels: the renderer sets wharf.dev/workflow-id from the run.
    const workflow = inNs(launchRun({ jobId: 'wf-outputs-1a2b3c4d5e6f7a8b', workflowId: 'wf-outputs', taskName: 'fan-out' }, spec));
    const plain = inNs(launchRun({ jobId: 'plain-outputs-1a2b3c4d5e6f7a8b' }, spec));
    await sender.send([launch(workflow), launch(plain)]);
    const [wfEnd, plainEnd] = await Promise.all([finished(workflow.jobId), finished(plain.jobId)]);
    expect(wfEnd).toMatchObject({ succeeded: true, counts: { total: 3, succeeded: 3 } });
    expect(plainEnd).toMatchObject({ succeeded: true, counts: { total: 3, succeeded: 3 } });

    const job = await kube.batch.readNamespacedJob({ namespace: names.namespace, name: kubeJobName(workflow.jobId, 1) });
    expect(job.metadata?.labels?.['wharf.dev/workflow-id']).toBe('wf-outputs');
    expect(job.metadata?.annotations?.['wharf.dev/task']).toBe('fan-out');
    const wf = factsOf(observations.values(), workflow.jobId);
    // One report per index, the first already carrying the output (the scheduler keeps the first).
    expect([...wf.indexes].sort((a, b) => (a?.index ?? 0) - (b?.index ?? 0))).toEqual(
      [0, 1, 2].map((index) => ({ index, succeeded: true, exitCode: 0, reason: 'Completed', outputJson: `{"i":${index}}` })),
    );
    // The run's end comes after every index.
    const order = wf.all.map((o) => (o.index ? 'index' : o.finished ? 'finished' : 'other'));
    expect(order.lastIndexOf('index')).toBeLessThan(order.indexOf('finished'));

    const other = factsOf(observations.values(), plain.jobId);
    expect(other.indexes).toHaveLength(3);
    expect(other.indexes.map((r) => r?.outputJson)).toEqual(['', '', '']);
  });

  it('retries an index that exits 1 once (backoffLimitPerIndex 1), then reports it failed', async () => {
    const run = inNs(
      launchRun(
        { jobId: 'retry-once-1a2b3c4d5e6f7a8b' },
        {
          items: ['a', 'b', 'c'],
          parallelism: 3,
          command: ['work'],
          retry: { backoffLimitPerIndex: 1, exitCodeRules: [], maxAttempts: 1, backoffSeconds: 0 },
          annotations: { 'wharf.dev/sim-exit-code': '1', 'wharf.dev/sim-fail-indexes': '1', 'wharf.dev/sim-duration-ms': '200' },
        },
      ),
    );
    await sender.send([launch(run)]);
    const result = await finished(run.jobId);
    expect(result).toMatchObject({ succeeded: false, reason: 'FailedIndexes', failedIndexes: [1], counts: { total: 3, succeeded: 2, failed: 1 } });
    const index1 = factsOf(observations.values(), run.jobId).indexes.find((r) => r?.index === 1);
    expect(index1).toMatchObject({ succeeded: false, exitCode: 1 });
    const jobName = kubeJobName(run.jobId, 1);
    const pods = await kube.pods(names.namespace, `batch.kubernetes.io/job-name=${jobName}`);
    const attempts = pods.filter((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '1');
    expect(attempts).toHaveLength(2); // the first try and one retry
  });

  it('ends the run at once on an exit code marked fail-fast (PodFailurePolicy)', async () => {
    const run = inNs(
      launchRun(
        { jobId: 'fail-fast-1a2b3c4d5e6f7a8b' },
        {
          items: ['a', 'b'],
          parallelism: 1,
          command: ['work'],
          retry: {
            backoffLimitPerIndex: 3,
            exitCodeRules: [{ action: ExitCodeRule_Action.ACTION_FAIL_JOB, exitCodes: [42] }],
            maxAttempts: 1,
            backoffSeconds: 0,
          },
          annotations: { 'wharf.dev/sim-exit-code': '42', 'wharf.dev/sim-duration-ms': '200' },
        },
      ),
    );
    await sender.send([launch(run)]);
    const result = await finished(run.jobId);
    expect(result).toMatchObject({ succeeded: false, reason: 'PodFailurePolicy' });
    const pods = await kube.pods(names.namespace, `batch.kubernetes.io/job-name=${kubeJobName(run.jobId, 1)}`);
    expect(pods).toHaveLength(1); // no retry, no second index
    expect(factsOf(observations.values(), run.jobId).indexes).toEqual([expect.objectContaining({ index: 0, succeeded: false, exitCode: 42 })]);
  });

  it('ends a run past its deadline with DeadlineExceeded', async () => {
    const run = inNs(
      launchRun(
        { jobId: 'deadline-1a2b3c4d5e6f7a8b' },
        { command: ['sleep'], activeDeadlineSeconds: 2, annotations: { 'wharf.dev/sim-duration-ms': '120000' } },
      ),
    );
    await sender.send([launch(run)]);
    const result = await finished(run.jobId);
    expect(result).toMatchObject({ succeeded: false, reason: 'DeadlineExceeded' });
  });

  it('cancels mid-run: Job deleted (logs still archivable through the finalizer), cancellation observed', async () => {
    const run = inNs(
      launchRun(
        { jobId: 'cancel-me-1a2b3c4d5e6f7a8b' },
        { command: ['sleep'], annotations: { 'wharf.dev/sim-duration-ms': '600000', 'wharf.dev/sim-log': 'still here\n' } },
      ),
    );
    await sender.send([launch(run)]);
    await eventually(() => expect(factsOf(observations.values(), run.jobId).started.length).toBeGreaterThan(0), {
      timeoutMs: 240_000,
      description: 'the run to start',
    });
    await sender.send([{ launch: undefined, cancel: { jobId: run.jobId, run: 1, reason: 'user asked' } }]);
    await eventually(() => expect(factsOf(observations.values(), run.jobId).cancelled).toEqual({ reason: 'user asked' }), {
      timeoutMs: 30_000,
      description: 'the cancellation',
    });
    const jobName = kubeJobName(run.jobId, 1);
    // Deleted, held by the archive finalizer: the pods and their logs are still there.
    const held = await kube.batch.readNamespacedJob({ namespace: names.namespace, name: jobName });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    expect(held.metadata?.finalizers).toContain('wharf.dev/archive-logs');
    const [pod] = await kube.pods(names.namespace, `batch.kubernetes.io/job-name=${jobName}`);
    const log = await kube.core.readNamespacedPodLog({ namespace: names.namespace, name: pod?.metadata?.name ?? '', container: 'main' });
    expect(log).toBe('still here\n');
    // log-archiver's part: release the finalizer; the Job goes.
    await kube.releaseFinalizer(names.namespace, jobName);
    await eventually(async () => expect((await kube.jobs(names.namespace)).map((j) => j.metadata?.name)).not.toContain(jobName), {
      timeoutMs: 30_000,
      description: 'the Job to be gone',
    });
    expect(factsOf(observations.values(), run.jobId).finished).toBeUndefined();
  });

  it('rejects 1,000 hostile launch commands, creating no Job', async () => {
    const count = Number(process.env['WHARF_HOSTILE_COMMANDS'] ?? 1000);
    const before = (await kube.managedJobsEverywhere()).length;
    const base = (i: number) => ({ jobId: `hostile-${i}`, run: 1, spec: { namespace: names.namespace, image: 'busybox:1.36', command: ['sh'] } });
    const kinds: ((i: number) => unknown)[] = [
      (i) => ({ launch: { ...base(i), spec: { ...base(i).spec, securityContext: { privileged: true } } } }),
      (i) => ({ launch: { ...base(i), spec: { ...base(i).spec, volumes: [{ name: 'root', hostPath: { path: '/' }, mountPath: '/host' }] } } }),
      (i) => ({ launch: { ...base(i), spec: { ...base(i).spec, hostNetwork: true, hostPID: true } } }),
      (i) => ({ launch: { ...base(i), spec: { ...base(i).spec, nodeName: 'kwok-node-0' } } }),
      (i) => ({ launch: { ...base(i), spec: { ...base(i).spec, namespace: 'kube-system' } } }),
      (i) => ({ launch: { ...base(i), spec: { ...base(i).spec, image: 'evil.example.com/miner:latest' } } }),
    ];
    const commands = Array.from({ length: count }, (_, i) => (kinds[i % kinds.length] as (i: number) => unknown)(i));
    for (let i = 0; i < commands.length; i += 200) await sender.sendJson('hostile', commands.slice(i, i + 200));
    await eventually(
      () => {
        const rejected = observations.values().filter((o) => o.jobId.startsWith('hostile-') && o.rejected);
        expect(new Set(rejected.map((o) => o.jobId)).size).toBe(count);
      },
      { timeoutMs: 300_000, intervalMs: 500, description: 'every hostile command to be rejected' },
    );
    const firstField = (jobId: string) => observations.values().find((o) => o.jobId === jobId)?.rejected?.violations[0]?.field;
    expect(firstField('hostile-0')).toBe('launch.spec.securityContext');
    expect(firstField('hostile-4')).toBe('spec.namespace');
    expect(firstField('hostile-5')).toBe('spec.image');
    expect(observations.values().some((o) => o.jobId.startsWith('hostile-') && !o.rejected)).toBe(false);
    expect((await kube.managedJobsEverywhere()).length).toBe(before);
    expect((await kube.managedJobsEverywhere()).some((j) => j.metadata?.labels?.['wharf.dev/job-id']?.startsWith('hostile-'))).toBe(false);
    // Operators see each refused command in the DLQ, with the reason.
    await eventually(() => expect(dlq.records.filter((r) => r.key === 'hostile').length).toBe(count), {
      timeoutMs: 60_000,
      description: 'the hostile commands in the DLQ',
    });
    expect(dlq.records[0]?.headers['wharf-error']).toMatch(/launch command refused/);
  });

  it('never lets a secret value reach logs, observations or errors (canary)', async () => {
    const canary = `canary-${Date.now()}-s3cr3t`;
    const good = inNs(launchRun({ jobId: 'canary-ok-1a2b3c4d5e6f7a8b' }, { command: ['work'], secrets: [{ env: 'API_TOKEN', value: canary }] }));
    const refused = inNs(launchRun({ jobId: 'canary-bad-1a2b3c4d5e6f7a8b' }, { image: 'evil.example.com/x', secrets: [{ env: 'WHARF_TOKEN', value: canary }] }));
    await sender.send([launch(good), launch(refused)], ContentTypes.json);
    await finished(good.jobId);
    await eventually(() => expect(factsOf(observations.values(), refused.jobId).rejected).toBeDefined(), { timeoutMs: 30_000 });
    const jobName = kubeJobName(good.jobId, 1);
    const secret = await kube.core.readNamespacedSecret({ namespace: names.namespace, name: `${jobName}-secrets` });
    expect(Buffer.from(secret.data?.['API_TOKEN'] ?? '', 'base64').toString()).toBe(canary);
    const job = await kube.batch.readNamespacedJob({ namespace: names.namespace, name: jobName });
    expect(JSON.stringify(job)).not.toContain(canary);
    expect(logs.lines.join('')).not.toContain(canary);
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(observations.values())).not.toContain(canary);
    await eventually(() => expect(dlq.records.some((r) => r.headers['wharf-error']?.includes('image'))).toBe(true), { timeoutMs: 30_000 });
    expect(JSON.stringify(dlq.records.map((r) => r.headers))).not.toContain(canary);
  });
});
