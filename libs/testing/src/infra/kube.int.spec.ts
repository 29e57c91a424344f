import * as k8s from '@kubernetes/client-node';
import { eventually } from '../eventually';
import { testInfra } from '../test-infra';
import { uniqueName } from '../unique';

// The control plane of this run (etcd, kube-apiserver, controller-manager, scheduler, KWOK):
// real Job controller, garbage collector and admission behaviour, with simulated containers.
const kc = new k8s.KubeConfig();
let batch: k8s.BatchV1Api;
let core: k8s.CoreV1Api;
let namespace: string;

beforeAll(async () => {
  kc.loadFromFile(testInfra().kube.kubeconfigPath);
  batch = kc.makeApiClient(k8s.BatchV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
  namespace = uniqueName('infra');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

function job(name: string, spec: Partial<k8s.V1JobSpec>, annotations: Record<string, string> = {}): k8s.V1Job {
  return {
    metadata: { name },
    spec: {
      completionMode: 'Indexed',
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      ...spec,
      template: {
        metadata: { annotations },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'echo hi'] }],
        },
      },
    },
  };
}

async function condition(name: string): Promise<{ type: string; reason?: string }> {
  return eventually(
    async () => {
      const current = await batch.readNamespacedJob({ name, namespace });
      const done = current.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      if (!done) throw new Error(`job ${name} not finished: ${JSON.stringify(current.status)}`);
      return { type: done.type, reason: done.reason };
    },
    { timeoutMs: 90_000, intervalMs: 250, description: `job ${name} to finish` },
  );
}

async function podsOf(jobName: string): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` });
  return list.items;
}

describe('Kubernetes control plane with KWOK nodes', () => {
  it('runs an Indexed Job with 5 completions and parallelism 3 to Complete', async () => {
    const name = uniqueName('indexed');
    await batch.createNamespacedJob({ namespace, body: job(name, { completions: 5, parallelism: 3 }) });
    await expect(condition(name)).resolves.toMatchObject({ type: 'Complete' });
    const status = (await batch.readNamespacedJob({ name, namespace })).status;
    expect(status?.succeeded).toBe(5);
    expect(status?.completedIndexes).toBe('0-4');
    const indexes = (await podsOf(name)).map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']);
    expect(new Set(indexes)).toEqual(new Set(['0', '1', '2', '3', '4']));
  });

  it('retries a failing index once under backoffLimitPerIndex 1, then reports it failed', async () => {
    const name = uniqueName('perindex');
    await batch.createNamespacedJob({
      namespace,
      body: job(name, { completions: 4, parallelism: 4, backoffLimitPerIndex: 1, backoffLimit: undefined }, {
        'wharf.dev/sim-exit-code': '1',
        'wharf.dev/sim-fail-indexes': '2',
      }),
    });
    await expect(condition(name)).resolves.toMatchObject({ type: 'Failed', reason: 'FailedIndexes' });
    const status = (await batch.readNamespacedJob({ name, namespace })).status;
    expect(status?.failedIndexes).toBe('2');
    expect(status?.completedIndexes).toBe('0,1,3'); // Kubernetes writes ranges only for 3+ consecutive indexes
    const index2 = (await podsOf(name)).filter((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '2');
    expect(index2).toHaveLength(2); // the first attempt and one retry
    const exitCodes = index2.map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode);
    expect(exitCodes).toEqual([1, 1]);
  });

  it('serves a pod log through the API (pods/log)', async () => {
    const name = uniqueName('logs');
    await batch.createNamespacedJob({
      namespace,
      body: job(name, {}, { 'wharf.dev/sim-log': 'hello from ${POD_NAME} index ${JOB_COMPLETION_INDEX}\n' }),
    });
    await condition(name);
    const [pod] = await podsOf(name);
    const podName = pod?.metadata?.name ?? '';
    const text = await core.readNamespacedPodLog({ name: podName, namespace, container: 'main' });
    expect(text).toBe(`hello from ${podName} index 0\n`);
  });

  it('simulates each index reading its own item from a ConfigMap file (subPathExpr)', async () => {
    const name = uniqueName('items');
    const items = ['foo', 'bar', 'baz'];
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: `${name}-inputs` }, data: Object.fromEntries(items.map((item, i) => [`item-${i}`, item])) },
    });
    const body = job(name, { completions: 3, parallelism: 3 }, { 'wharf.dev/sim-log': 'index ${JOB_COMPLETION_INDEX} saw ${file:/var/run/wharf/item}\n' });
    const podSpec = body.spec?.template.spec as k8s.V1PodSpec;
    podSpec.volumes = [{ name: 'inputs', configMap: { name: `${name}-inputs` } }];
    const [main] = podSpec.containers;
    if (!main) throw new Error('no container');
    main.env = [{ name: 'WHARF_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }];
    main.volumeMounts = [{ name: 'inputs', mountPath: '/var/run/wharf/item', subPathExpr: 'item-$(WHARF_INDEX)' }];
    await batch.createNamespacedJob({ namespace, body });
    await expect(condition(name)).resolves.toMatchObject({ type: 'Complete' });
    const logs = await Promise.all(
      (await podsOf(name)).map((pod) => core.readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace, container: 'main' })),
    );
    expect(logs.sort()).toEqual(['index 0 saw foo\n', 'index 1 saw bar\n', 'index 2 saw baz\n']);
  });

  it('garbage-collects a deleted Job\'s pods and owned ConfigMap', async () => {
    const name = uniqueName('gc');
    const created = await batch.createNamespacedJob({ namespace, body: job(name, {}) });
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name: `${name}-inputs`,
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: created.metadata?.uid ?? '', controller: true }],
        },
        data: { 'inputs.json': '{}' },
      },
    });
    await condition(name);
    expect(await podsOf(name)).not.toHaveLength(0);
    await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
    await eventually(
      async () => {
        expect(await podsOf(name)).toHaveLength(0);
        const maps = await core.listNamespacedConfigMap({ namespace });
        expect(maps.items.map((m) => m.metadata?.name)).not.toContain(`${name}-inputs`);
      },
      { timeoutMs: 60_000, intervalMs: 250, description: 'garbage collection' },
    );
  });

  it('holds a Job with a finalizer after deletion until the finalizer is removed', async () => {
    const name = uniqueName('fin');
    const body = job(name, {});
    body.metadata = { ...body.metadata, finalizers: ['wharf.dev/archive-logs'] };
    await batch.createNamespacedJob({ namespace, body });
    await condition(name);
    await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
    const held = await batch.readNamespacedJob({ name, namespace });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    await batch.patchNamespacedJob(
      { name, namespace, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await eventually(
      async () => {
        await expect(batch.readNamespacedJob({ name, namespace })).rejects.toMatchObject({ code: 404 });
      },
      { timeoutMs: 30_000, description: 'the job to be deleted' },
    );
  });

  it('enforces the restricted Pod Security profile in a labelled namespace', async () => {
    const restricted = uniqueName('restricted');
    await core.createNamespace({
      body: { metadata: { name: restricted, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
    try {
      await expect(
        core.createNamespacedPod({
          namespace: restricted,
          body: {
            metadata: { name: 'privileged' },
            spec: { containers: [{ name: 'main', image: 'busybox', securityContext: { privileged: true } }] },
          },
        }),
      ).rejects.toMatchObject({ code: 403 });
    } finally {
      await core.deleteNamespace({ name: restricted }).catch(() => undefined);
    }
  });
});
