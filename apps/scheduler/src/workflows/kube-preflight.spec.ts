import { KubeLabels } from '@wharf/contracts';
import { configMapName, defaultRenderOptions, inputsChunkName, kubeJobName, LaunchAnnotations, secretName } from '@wharf/launch';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from '@wharf/platform';
import { taskJobId } from './workflow-identity';
import { planPreflight, type ResourceRequirement } from './workflow-preflight';
import { dryRunLaunch, launchRunFor, lookupResource, mapLimit, preflightWorkflow, runPreflight, type PreflightKube } from './kube-preflight';
import { specFrom } from './workflow-test-builders';

const spec = specFrom(`name: ci
namespace: team-a
workspaces: [{ name: src, claimName: ci-src }]
tasks:
  - name: build
    workspaces: [{ name: src, mountPath: /workspace }]
    template:
      image: kaniko
      serviceAccount: builder
      inputs: { mode: fast }
      secrets: [{ env: TOKEN, secretRef: { name: github, key: token } }, { env: INLINE, value: s3cr3t-canary }]
  - name: elsewhere
    template: { image: i, namespace: other }
`);

interface Call {
  readonly verb: 'get' | 'create';
  readonly kind: string;
  readonly name: string;
  readonly dryRun?: boolean;
}

/** A cluster as a map `kind/namespace/name` → object (or an error to throw). */
function fakeKube(objects: Record<string, unknown>, created: Record<string, unknown> = {}) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const answer = async (key: string, table: Record<string, unknown>, fallback: () => unknown): Promise<never> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await Promise.resolve();
    inFlight--;
    const value = key in table ? table[key] : fallback();
    if (value instanceof Error) throw value;
    return value as never;
  };
  const kube: PreflightKube = {
    get: (kind, ref) => {
      calls.push({ verb: 'get', kind, name: `${ref.namespace ?? ''}/${ref.name}` });
      return answer(`${kind}/${ref.namespace ?? ''}/${ref.name}`, objects, () => new NotFoundError(`${kind} ${ref.name} not found`));
    },
    create: (kind, object, options) => {
      const name = `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
      calls.push({ verb: 'create', kind, name, dryRun: options?.dryRun });
      return answer(`${kind}/${name}`, created, () => ({ ...object, metadata: { ...object.metadata, uid: `uid-of-${object.metadata?.name}` } }));
    },
  };
  return { kube, calls, maxInFlight: () => maxInFlight };
}

const everything = {
  'namespace//team-a': { status: { phase: 'Active' } },
  'namespace//other': { status: { phase: 'Active' } },
  'persistentVolumeClaim/team-a/ci-src': { status: { phase: 'Bound' } },
  'secret/team-a/github': { data: { token: 'dG9rZW4=', extra: 'eA==' } },
  'serviceAccount/team-a/builder': {},
};

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and returns results in input order', async () => {
    let inFlight = 0;
    let max = 0;
    const release: (() => void)[] = [];
    const done = mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
      return n * 10;
    });
    while (release.length || inFlight) {
      await Promise.resolve();
      release.shift()?.();
    }
    await expect(done).resolves.toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(max).toBe(3);
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    const run = mapLimit([1, 2, 3, 4], 1, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('boom');
      return n;
    });
    await expect(run).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
    await expect(mapLimit([], 8, async () => 1)).resolves.toEqual([]);
  });
});

describe('lookupResource', () => {
  const requirement = (kind: ResourceRequirement['kind'], namespace: string, name: string): ResourceRequirement => ({ kind, namespace, name, keys: [], usedBy: [] });

  it('maps 404 to missing, 403 to forbidden, phases to usability, and keeps only Secret key names', async () => {
    const { kube } = fakeKube({
      'namespace//gone': { status: { phase: 'Terminating' } },
      'persistentVolumeClaim/a/lost': { status: { phase: 'Lost' } },
      'persistentVolumeClaim/a/pending': { status: { phase: 'Pending' } },
      'secret/a/s': { data: { b: 'c2VjcmV0', a: 'c2VjcmV0' } },
      'secret/a/hidden': new PermissionDeniedError('get secret a/hidden: forbidden'),
      'configMap/a/cm': { data: { x: '1' }, binaryData: { y: 'AA==' } },
      'serviceAccount/a/sa': {},
    });
    expect(await lookupResource(kube, requirement('Namespace', '', 'gone'))).toEqual({ status: 'unusable', reason: 'it is being deleted' });
    expect(await lookupResource(kube, requirement('Namespace', '', 'nope'))).toEqual({ status: 'missing' });
    expect(await lookupResource(kube, requirement('PersistentVolumeClaim', 'a', 'lost'))).toMatchObject({ status: 'unusable' });
    expect(await lookupResource(kube, requirement('PersistentVolumeClaim', 'a', 'pending'))).toEqual({ status: 'found' });
    const secret = await lookupResource(kube, requirement('Secret', 'a', 's'));
    expect(secret).toEqual({ status: 'found', keys: ['a', 'b'] });
    expect(JSON.stringify(secret)).not.toContain('c2VjcmV0');
    expect(await lookupResource(kube, requirement('Secret', 'a', 'hidden'))).toEqual({ status: 'forbidden' });
    expect(await lookupResource(kube, requirement('ConfigMap', 'a', 'cm'))).toEqual({ status: 'found', keys: ['x', 'y'] });
    expect(await lookupResource(kube, requirement('ServiceAccount', 'a', 'sa'))).toEqual({ status: 'found' });
    expect(await lookupResource(kube, requirement('ServiceAccount', 'a', 'other'))).toEqual({ status: 'missing' });
  });

  it('throws when Kubernetes gave no answer', async () => {
    const { kube } = fakeKube({ 'serviceAccount/a/sa': new UnavailableError('kubernetes unreachable') });
    await expect(lookupResource(kube, requirement('ServiceAccount', 'a', 'sa'))).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('launchRunFor', () => {
  it('is the LaunchRun the job reducer sends when it admits the task job: run 1, workflow and task named', () => {
    const plan = planPreflight('ci-1', spec);
    const job = plan.jobs[0];
    if (!job) throw new Error('no job');
    const now = new Date('2030-01-01T00:00:00Z');
    const command = launchRunFor('ci-1', job, { tenant: 'acme', now });
    expect(command).toMatchObject({ jobId: taskJobId('ci-1', 'build'), run: 1, tenant: 'acme', workflowId: 'ci-1', taskName: 'build', admittedAt: now });
    expect(command.spec).toBe(job.spec);
    expect(command.specHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('dryRunLaunch', () => {
  const plan = planPreflight('ci-1', spec);
  const build = plan.jobs[0];
  if (!build) throw new Error('no job');
  const command = launchRunFor('ci-1', build);
  const jobName = kubeJobName(command.jobId, 1);

  it('dry-runs the Job, then its owned ConfigMap and Secret, owned by the uid the dry-run returned', async () => {
    const owners: unknown[] = [];
    const { kube, calls } = fakeKube({});
    const create = kube.create;
    kube.create = (kind, object, options) => {
      if (kind !== 'job') owners.push(object.metadata?.ownerReferences);
      return create(kind, object, options);
    };
    expect(await dryRunLaunch(kube, 'build', command)).toEqual({ task: 'build', ok: true });
    expect(calls).toEqual([
      { verb: 'create', kind: 'job', name: `team-a/${jobName}`, dryRun: true },
      { verb: 'create', kind: 'configMap', name: `team-a/${configMapName(jobName)}`, dryRun: true },
      { verb: 'create', kind: 'secret', name: `team-a/${secretName(jobName)}`, dryRun: true },
    ]);
    expect(owners).toEqual([
      [expect.objectContaining({ kind: 'Job', name: jobName, uid: `uid-of-${jobName}` })],
      [expect.objectContaining({ kind: 'Job', name: jobName, uid: `uid-of-${jobName}` })],
    ]);
  });

  it('dry-runs every inputs ConfigMap of a fan-out too large for one', async () => {
    const fanOut = { ...command, spec: command.spec && { ...command.spec, items: Array.from({ length: 40 }, (_, i) => `item ${i} `.padEnd(100, '.')) } };
    const { kube, calls } = fakeKube({});
    expect(await dryRunLaunch(kube, 'build', fanOut, { ...defaultRenderOptions, inputsChunkBytes: 2_000 })).toEqual({ task: 'build', ok: true });
    expect(calls.filter((c) => c.kind === 'configMap').map((c) => c.name)).toEqual(
      [0, 1, 2].map((chunk) => `team-a/${inputsChunkName(jobName, chunk)}`),
    );
  });

  it('reports the first refusal with the apiserver message; AlreadyExists passes; no answer throws', async () => {
    const refused = fakeKube({}, { [`configMap/team-a/${configMapName(jobName)}`]: new InvalidArgumentError('create configMap: too long') });
    expect(await dryRunLaunch(refused.kube, 'build', command)).toEqual({ task: 'build', ok: false, message: 'create configMap: too long' });
    expect(refused.calls.map((c) => c.kind)).toEqual(['job', 'configMap']);

    const quota = fakeKube({}, { [`job/team-a/${jobName}`]: new PermissionDeniedError('create job: exceeded quota') });
    expect(await dryRunLaunch(quota.kube, 'build', command)).toMatchObject({ ok: false, message: 'create job: exceeded quota' });

    const exists = fakeKube({}, { [`job/team-a/${jobName}`]: new AlreadyExistsError('exists') });
    expect(await dryRunLaunch(exists.kube, 'build', command)).toEqual({ task: 'build', ok: true });
    expect(exists.calls).toHaveLength(3);

    const down = fakeKube({}, { [`job/team-a/${jobName}`]: new UnavailableError('kubernetes unreachable') });
    await expect(dryRunLaunch(down.kube, 'build', command)).rejects.toBeInstanceOf(UnavailableError);
  });

  it('renders what job-launcher renders: labels and annotations name the workflow and task', async () => {
    const jobs: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }[] = [];
    const { kube } = fakeKube({});
    const create = kube.create;
    kube.create = (kind, object, options) => {
      if (kind === 'job') jobs.push(object);
      return create(kind, object, options);
    };
    await dryRunLaunch(kube, 'build', command);
    expect(jobs[0]?.metadata?.labels).toMatchObject({ [KubeLabels.workflowId]: 'ci-1', [KubeLabels.jobId]: command.jobId, [KubeLabels.run]: '1' });
    expect(jobs[0]?.metadata?.annotations).toMatchObject({ [LaunchAnnotations.task]: 'build', [LaunchAnnotations.workflowId]: 'ci-1' });
  });
});

describe('runPreflight', () => {
  it('passes when everything exists, with one lookup per requirement and one dry-run per job', async () => {
    const { kube, calls, maxInFlight } = fakeKube(everything);
    const plan = planPreflight('ci-1', spec);
    const { lookups, dryRuns } = await runPreflight(kube, plan, { concurrency: 2 });
    expect([...lookups.keys()]).toEqual(plan.resources);
    expect([...lookups.values()].map((l) => l.status)).toEqual(plan.resources.map(() => 'found'));
    expect(dryRuns).toEqual([
      { task: 'build', ok: true },
      { task: 'elsewhere', ok: true },
    ]);
    expect(calls.filter((c) => c.verb === 'get')).toHaveLength(plan.resources.length);
    expect(calls.filter((c) => c.verb === 'create').every((c) => c.dryRun)).toBe(true);
    expect(maxInFlight()).toBeLessThanOrEqual(2);
    await expect(preflightWorkflow(kube, 'ci-1', spec)).resolves.toBeUndefined();
  });

  it('treats objects of a missing namespace as missing without asking, and dry-runs no job there', async () => {
    const { kube, calls } = fakeKube({ 'namespace//other': { status: { phase: 'Active' } } });
    const error = await preflightWorkflow(kube, 'ci-1', spec);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error?.violations.map((v) => v.description)).toEqual([
      'Namespace "team-a" not found',
      'PersistentVolumeClaim "team-a/ci-src" not found',
      'Secret "team-a/github" not found',
      'ServiceAccount "team-a/builder" not found',
    ]);
    expect(calls.filter((c) => c.verb === 'get').map((c) => c.kind)).toEqual(['namespace', 'namespace']);
    expect(calls.filter((c) => c.verb === 'create').map((c) => c.name)).toEqual([`other/${kubeJobName(taskJobId('ci-1', 'elsewhere'), 1)}`]);
    expect(error?.message).not.toContain('s3cr3t-canary');
  });

  it('names a missing Secret key and a refused dry-run in one FAILED_PRECONDITION', async () => {
    const elsewhere = kubeJobName(taskJobId('ci-1', 'elsewhere'), 1);
    const { kube } = fakeKube(
      { ...everything, 'secret/team-a/github': { data: { other: 'eA==' } } },
      { [`job/other/${elsewhere}`]: new PermissionDeniedError(`create job other/${elsewhere}: exceeded quota: jobs`) },
    );
    const error = await preflightWorkflow(kube, 'ci-1', spec);
    expect(error?.violations).toEqual([
      { field: 'tasks[0].template.secrets[0].secretRef', description: 'Secret "team-a/github" has no key "token"' },
      { field: 'task elsewhere', description: `server-side dry-run refused its job: create job other/${elsewhere}: exceeded quota: jobs` },
    ]);
  });
});
