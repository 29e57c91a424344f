import { KubeLabels } from '@wharf/contracts';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { Writable } from 'node:stream';
import { AlreadyExistsError, InvalidArgumentError, isNotFound, NotFoundError } from '../errors';
import { createKubeClient, type KubeClient } from './kube-client';
import { loadKubeConfig } from './kube-config';
import { ConflictError } from './kube-errors';
import type { V1Job } from '@kubernetes/client-node';

const managed = { [KubeLabels.managedBy]: KubeLabels.managedByValue };

function job(namespace: string, name: string, annotations: Record<string, string> = {}): V1Job {
  return {
    metadata: { namespace, name, labels: { ...managed, [KubeLabels.jobId]: name } },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox', command: ['true'] }],
        },
      },
    },
  };
}

describe('KubeClient against a real apiserver', () => {
  let kube: KubeClient;
  let namespace: string;

  beforeAll(async () => {
    kube = createKubeClient({
      kubeConfig: loadKubeConfig({ kubeconfigPath: testInfra().kube.kubeconfigPath }),
    });
    namespace = uniqueName('ns');
    await kube.create('namespace', { metadata: { name: namespace, labels: managed } });
  });
  afterAll(async () => {
    await kube.delete('namespace', { name: namespace }).catch(() => undefined);
  });

  it('creates, lists by label, patches and deletes ConfigMaps and Jobs', async () => {
    const ref = { namespace, name: uniqueName('inputs') };
    const created = await kube.create('configMap', {
      metadata: { ...ref, labels: managed },
      data: { 'items.json': '[1,2,3]' },
    });
    await expect(kube.create('configMap', { metadata: ref })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    expect((await kube.get('configMap', ref)).data).toEqual({ 'items.json': '[1,2,3]' });

    const jobName = uniqueName('job');
    await kube.create('job', job(namespace, jobName));
    const listed = await kube.list('job', {
      namespace,
      labelSelector: `${KubeLabels.jobId}=${jobName}`,
    });
    expect(listed.items.map((j) => j.metadata?.name)).toEqual([jobName]);
    expect(listed.resourceVersion).not.toBe('');
    expect(
      (await kube.list('configMap', { namespace, labelSelector: `${KubeLabels.managedBy}=wharf` }))
        .items,
    ).toHaveLength(1);

    // JSON patch guarded by the resourceVersion we read; a stale one is a conflict.
    const version = created.metadata?.resourceVersion ?? '';
    const patched = await kube.jsonPatch(
      'configMap',
      ref,
      [{ op: 'add', path: '/data/extra', value: 'x' }],
      {
        resourceVersion: version,
      },
    );
    expect(patched.data?.['extra']).toBe('x');
    await expect(
      kube.jsonPatch('configMap', ref, [{ op: 'add', path: '/data/late', value: 'y' }], {
        resourceVersion: version,
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    const merged = await kube.mergePatch('configMap', ref, { data: { extra: null, merged: 'z' } });
    expect(merged.data).toEqual({ 'items.json': '[1,2,3]', merged: 'z' });

    await kube.delete('configMap', ref);
    await kube.delete('job', { namespace, name: jobName });
    await expect(kube.get('configMap', ref)).rejects.toBeInstanceOf(NotFoundError);
    await eventually(
      () =>
        expect(kube.get('job', { namespace, name: jobName })).rejects.toBeInstanceOf(NotFoundError),
      {
        description: 'the Job to be gone',
      },
    );
    expect(
      isNotFound(await kube.delete('job', { namespace, name: jobName }).catch((e: unknown) => e)),
    ).toBe(true);
  });

  it('validates on the server with a dry-run create, persisting nothing', async () => {
    const name = uniqueName('dry');
    const dry = await kube.create('job', job(namespace, name), { dryRun: true });
    expect(dry.metadata?.name).toBe(name);
    await expect(kube.get('job', { namespace, name })).rejects.toBeInstanceOf(NotFoundError);
    const invalid = job(namespace, uniqueName('bad'));
    invalid.spec = { ...invalid.spec, template: { spec: { containers: [] } } };
    await expect(kube.create('job', invalid, { dryRun: true })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('never puts Secret values in errors', async () => {
    const error = await kube
      .create('secret', {
        metadata: { namespace, name: 'Not_A_Valid_Name' },
        stringData: { 'bad key!': 'hunter2-canary' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(
      JSON.stringify({
        message: (error as Error).message,
        context: (error as InvalidArgumentError).context,
      }),
    ).not.toContain('hunter2-canary');
  });

  it('streams a pod log to its end', async () => {
    const name = uniqueName('logs');
    await kube.create('job', job(namespace, name, { 'wharf.dev/sim-log': 'line one\nline two\n' }));
    const pod = await eventually(
      async () => {
        const pods = await kube.list('pod', { namespace, labelSelector: `job-name=${name}` });
        const done = pods.items.find((p) => p.status?.phase === 'Succeeded');
        if (!done) throw new Error('pod not finished');
        return done;
      },
      { timeoutMs: 60_000, description: 'the Job pod to succeed' },
    );
    const chunks: Buffer[] = [];
    const into = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    await kube.streamPodLog({ namespace, name: pod.metadata?.name ?? '' }, 'main', into);
    expect(Buffer.concat(chunks).toString()).toBe('line one\nline two\n');
    await expect(
      kube.streamPodLog(
        { namespace, name: 'no-such-pod' },
        'main',
        new Writable({ write: (_c, _e, done) => done() }),
      ),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('bounds the request rate on the client', async () => {
    const limited = createKubeClient({
      kubeConfig: loadKubeConfig({ kubeconfigPath: testInfra().kube.kubeconfigPath }),
      qps: 5,
      burst: 1,
    });
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 11 }, () => limited.get('namespace', { name: namespace })),
    );
    // One token at once, then one per 200 ms: the 11th request cannot start before 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  });
});
