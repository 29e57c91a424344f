import { KubeConfig, RbacAuthorizationV1Api, CoreV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { KubeLabels } from '@wharf/contracts';
import { createKubeClient, FailedPreconditionError, loadKubeConfig, type KubeClient } from '@wharf/platform';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { preflightWorkflow, runPreflight } from '../src/workflows/kube-preflight';
import { planPreflight } from '../src/workflows/workflow-preflight';
import { parseWorkflowText } from '../src/workflows/workflow-spec-parser';

/**
 * Workflow preflight against the real kube-apiserver of the integration run: lookups of what a
 * workflow names and server-side dry-runs of the Jobs job-launcher would create.
 */

const managed = { [KubeLabels.managedBy]: KubeLabels.managedByValue };

function spec(yaml: string) {
  const result = parseWorkflowText(yaml);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.spec;
}

/** A workflow in `namespace`: a workspace, a Secret key, a volume, a service account, a fan-out with inputs and an inline secret. */
function ciWorkflow(namespace: string, names: { secret: string; key: string; claim: string; cache: string; account: string }) {
  return spec(`name: ci
namespace: ${namespace}
workspaces: [{ name: src, claimName: ${names.claim} }]
tasks:
  - name: build
    workspaces: [{ name: src, mountPath: /workspace }]
    template:
      image: busybox:1.36
      command: [sh, -c, 'echo build']
      serviceAccount: ${names.account}
      inputs: { mode: fast }
      resources: { cpu: 100m, memory: 64Mi }
      secrets:
        - { env: TOKEN, secretRef: { name: ${names.secret}, key: ${names.key} } }
        - { env: INLINE, value: canary-inline-s3cr3t }
  - name: each
    dependsOn: [build]
    withItems: [a, b, c]
    template:
      image: busybox:1.36
      command: [sh, -c, 'echo {{ item }}']
      volumes: [{ claimName: ${names.cache}, mountPath: /cache }]
`);
}

describe('workflow preflight against a real kube-apiserver', () => {
  let kubeConfig: KubeConfig;
  let kube: KubeClient;
  const namespace = uniqueName('pf');
  const secretValue = 'canary-secret-value-7f3a';
  const present = { secret: 'github', key: 'token', claim: 'ci-src', cache: 'cache', account: 'builder' };

  beforeAll(async () => {
    kubeConfig = loadKubeConfig({ kubeconfigPath: testInfra().kube.kubeconfigPath });
    kube = createKubeClient({ kubeConfig });
    await kube.create('namespace', { metadata: { name: namespace, labels: managed } });
    await kube.create('secret', {
      metadata: { namespace, name: present.secret },
      data: { token: Buffer.from(secretValue).toString('base64') },
    });
    for (const claim of [present.claim, present.cache]) {
      // No StorageClass in this cluster: the claims stay Pending, which preflight accepts (WaitForFirstConsumer looks the same).
      await kube.create('persistentVolumeClaim', {
        metadata: { namespace, name: claim },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
    }
    await kube.create('serviceAccount', { metadata: { namespace, name: present.account } });
  });
  afterAll(async () => {
    await kube?.delete('namespace', { name: namespace }).catch(() => undefined);
  });

  it('passes a workflow whose namespace, Secret key, PVCs and service account all exist, dry-running every Job', async () => {
    const workflow = ciWorkflow(namespace, present);
    const plan = planPreflight('ci-ok', workflow);
    const { lookups, dryRuns } = await runPreflight(kube, plan);
    expect([...lookups.values()].map((l) => l.status)).toEqual(plan.resources.map(() => 'found'));
    expect(dryRuns).toEqual([
      { task: 'build', ok: true },
      { task: 'each', ok: true },
    ]);
    expect(JSON.stringify([...lookups.values()])).not.toContain(Buffer.from(secretValue).toString('base64'));
    await expect(preflightWorkflow(kube, 'ci-ok', workflow)).resolves.toBeUndefined();
    // Dry-runs store nothing.
    expect((await kube.list('job', { namespace })).items).toEqual([]);
    expect((await kube.list('configMap', { namespace, labelSelector: `${KubeLabels.managedBy}=wharf` })).items).toEqual([]);
  });

  it('names a missing Secret and a missing PVC in one FAILED_PRECONDITION', async () => {
    const workflow = ciWorkflow(namespace, { ...present, secret: 'no-such-secret', cache: 'no-such-claim' });
    const error = await preflightWorkflow(kube, 'ci-missing', workflow);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error?.violations).toEqual([
      { field: 'tasks[0].template.secrets[0].secretRef', description: `Secret "${namespace}/no-such-secret" not found` },
      { field: 'tasks[1].template.volumes[0].claimName', description: `PersistentVolumeClaim "${namespace}/no-such-claim" not found` },
    ]);
    expect(error?.message).not.toContain('canary-inline-s3cr3t');
  });

  it('names a Secret key that is missing, without revealing the Secret', async () => {
    const error = await preflightWorkflow(kube, 'ci-key', ciWorkflow(namespace, { ...present, key: 'id_rsa' }));
    expect(error?.violations).toEqual([
      { field: 'tasks[0].template.secrets[0].secretRef', description: `Secret "${namespace}/github" has no key "id_rsa"` },
    ]);
    expect(error?.message).not.toContain(secretValue);
  });

  it('reports a missing namespace once, without dry-running its jobs', async () => {
    const gone = uniqueName('pf-none');
    const error = await preflightWorkflow(kube, 'ci-ns', spec(`name: ci\nnamespace: ${gone}\ntasks: [{ name: t, template: { image: busybox } }]\n`));
    expect(error?.violations).toEqual([{ field: 'namespace', description: `Namespace "${gone}" not found` }]);
  });

  it('reports a Job the apiserver refuses in dry-run (a ResourceQuota allowing no Jobs)', async () => {
    const quotaNamespace = uniqueName('pf-quota');
    await kube.create('namespace', { metadata: { name: quotaNamespace, labels: managed } });
    try {
      const core = kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespacedResourceQuota({
        namespace: quotaNamespace,
        body: { metadata: { name: 'no-jobs' }, spec: { hard: { 'count/jobs.batch': '0' } } },
      });
      // Quota admission refuses everything ("status unknown") until the quota controller has
      // filled in the quota's status: wait for that, so the refusal is the quota's own.
      await eventually(
        async () => {
          const quota = await core.readNamespacedResourceQuota({ namespace: quotaNamespace, name: 'no-jobs' });
          if (quota.status?.hard?.['count/jobs.batch'] === undefined) throw new Error('quota status not computed yet');
        },
        { timeoutMs: 30_000, description: 'the quota controller to compute the quota' },
      );
      const error = await preflightWorkflow(kube, 'ci-quota', spec(`name: ci\nnamespace: ${quotaNamespace}\ntasks: [{ name: t, template: { image: busybox, command: ['true'] } }]\n`));
      expect(error?.violations).toEqual([
        { field: 'task t', description: expect.stringMatching(/^server-side dry-run refused its job: create job .*exceeded quota: no-jobs/) },
      ]);
    } finally {
      await kube.delete('namespace', { name: quotaNamespace }).catch(() => undefined);
    }
  });

  it("works with nothing but the scheduler's RBAC from deploy/, bound in the job namespace", async () => {
    // The ClusterRole of deploy/base/scheduler/rbac.yaml (renamed: the cluster is shared),
    // bound in `namespace` to a service account the client impersonates.
    const documents = parseAllDocuments(readFileSync(resolve(__dirname, '../../../deploy/base/scheduler/rbac.yaml'), 'utf8'));
    const role = documents.map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: V1PolicyRule[] }).find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'wharf-scheduler');
    if (!role?.rules) throw new Error('no ClusterRole wharf-scheduler in rbac.yaml');
    const roleName = uniqueName('wharf-scheduler');
    const account = 'preflight-scheduler';
    const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: roleName, labels: managed }, rules: role.rules } });
    try {
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: roleName },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
          subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
        },
      });
      const asScheduler = new KubeConfig();
      asScheduler.loadFromOptions({
        clusters: kubeConfig.clusters,
        contexts: kubeConfig.contexts,
        currentContext: kubeConfig.currentContext,
        users: kubeConfig.users.map((u) => ({ ...u, impersonateUser: `system:serviceaccount:${namespace}:${account}` })),
      });
      const scheduler = createKubeClient({ kubeConfig: asScheduler });
      // The RBAC authorizer sees new bindings through its informers: wait until this one arrived.
      await eventually(() => scheduler.get('namespace', { name: namespace }), { timeoutMs: 30_000, description: 'the RoleBinding to take effect' });

      await expect(preflightWorkflow(scheduler, 'ci-rbac', ciWorkflow(namespace, present))).resolves.toBeUndefined();
      const missing = await preflightWorkflow(scheduler, 'ci-rbac', ciWorkflow(namespace, { ...present, secret: 'no-such-secret' }));
      expect(missing?.violations.map((v) => v.description)).toEqual([`Secret "${namespace}/no-such-secret" not found`]);
      // A namespace Wharf is not bound in cannot be read: reported, never taken for "exists".
      const elsewhere = await preflightWorkflow(scheduler, 'ci-rbac', spec(`name: ci\nnamespace: default\ntasks: [{ name: t, template: { image: busybox } }]\n`));
      expect(elsewhere?.violations).toEqual([{ field: 'namespace', description: 'Namespace "default" cannot be read by the scheduler' }]);
    } finally {
      await rbac.deleteClusterRole({ name: roleName }).catch(() => undefined);
    }
  });
});
