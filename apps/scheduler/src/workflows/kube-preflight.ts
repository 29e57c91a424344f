import type { LaunchRun, WorkflowSpec } from '@wharf/contracts';
import { defaultRenderOptions, ownedBy, renderRun, type RenderOptions } from '@wharf/launch';
import {
  isAlreadyExists,
  isNotFound,
  isWharfError,
  PermissionDeniedError,
  type FailedPreconditionError,
  type KubeClient,
  type V1ConfigMap,
  type V1Job,
  type V1Secret,
  type WharfError,
} from '@wharf/platform';
import { specHash } from '../domain/job-identity';
import { reduce } from '../domain/job-reducer';
import type { RenderedTask } from './task-renderer';
import {
  ClusterResourceKinds,
  namespaceLookup,
  planPreflight,
  preflightError,
  pvcLookup,
  type DryRunOutcome,
  type PreflightPlan,
  type ResourceLookup,
  type ResourceRequirement,
} from './workflow-preflight';

/**
 * Preflight's Kubernetes half: looks up every object {@link planPreflight} listed and
 * server-side dry-runs every rendered Job, exactly as job-launcher would create it (the same
 * LaunchRun the scheduler would send, rendered by @wharf/launch). Reads and dry-runs only:
 * nothing is stored. Secret values are never kept, logged or reported, only key names.
 *
 * RBAC (deploy/base/scheduler/rbac.yaml, bound per job namespace): get on namespaces, secrets,
 * configmaps, persistentvolumeclaims and serviceaccounts; create on jobs, configmaps and secrets
 * (a dry-run is authorized as a create).
 */

/** The two KubeClient calls preflight makes. */
export type PreflightKube = Pick<KubeClient, 'get' | 'create'>;

export interface PreflightOptions {
  /** Lookups and dry-runs in flight at once. @default 8 */
  readonly concurrency?: number;
  /** job-launcher's render options (its config), so the dry-run sees the Jobs it would create. @default defaultRenderOptions */
  readonly renderOptions?: RenderOptions;
  /** The tenant the jobs would run for; only lands in an annotation. @default 'preflight' */
  readonly tenant?: string;
  /** When the would-be runs are admitted. @default now */
  readonly now?: Date;
}

export interface PreflightResult {
  /** One entry per requirement of the plan (the same objects as keys). */
  readonly lookups: Map<ResourceRequirement, ResourceLookup>;
  /** One outcome per job dry-run; jobs in a namespace that is not usable are not dry-run. */
  readonly dryRuns: DryRunOutcome[];
}

export const defaultPreflightConcurrency = 8;

/** The tenant written on dry-run objects when the caller names none. */
export const preflightTenant = 'preflight';

/**
 * `fn` over `items` with at most `limit` calls in flight; results in input order. The first
 * rejection rejects the whole (no new calls start after it).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(Math.floor(limit) || 1, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}

/** 404 → missing, 403 → forbidden; anything else (unreachable, 5xx…) is not an answer: thrown. */
async function lookup(read: () => Promise<ResourceLookup>): Promise<ResourceLookup> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return { status: 'missing' };
    if (error instanceof PermissionDeniedError) return { status: 'forbidden' };
    throw error;
  }
}

/** Key names of a Secret's or ConfigMap's data; the values are dropped here, never returned. */
function keyNames(...maps: (Record<string, unknown> | undefined)[]): string[] {
  return [...new Set(maps.flatMap((m) => Object.keys(m ?? {})))].sort();
}

/** Looks one requirement up in the cluster. */
export function lookupResource(kube: PreflightKube, r: ResourceRequirement): Promise<ResourceLookup> {
  const ref = { namespace: r.namespace, name: r.name };
  switch (r.kind) {
    case ClusterResourceKinds.namespace:
      return lookup(async () => namespaceLookup((await kube.get('namespace', { name: r.name })).status?.phase));
    case ClusterResourceKinds.secret:
      return lookup(async () => ({ status: 'found', keys: keyNames((await kube.get('secret', ref)).data) }));
    case ClusterResourceKinds.configMap:
      return lookup(async () => {
        const configMap = await kube.get('configMap', ref);
        return { status: 'found', keys: keyNames(configMap.data, configMap.binaryData) };
      });
    case ClusterResourceKinds.pvc:
      return lookup(async () => pvcLookup((await kube.get('persistentVolumeClaim', ref)).status?.phase));
    case ClusterResourceKinds.serviceAccount:
      return lookup(async () => {
        await kube.get('serviceAccount', ref);
        return { status: 'found' };
      });
  }
}

/**
 * The LaunchRun the scheduler would send for run 1 of a workflow task's job: the job record a
 * submit creates (with the workflow and task named), admitted by the job reducer. Pure.
 */
export function launchRunFor(workflowId: string, job: RenderedTask, options: { tenant?: string; now?: Date } = {}): LaunchRun {
  const now = options.now ?? new Date();
  const submit = { kind: 'submit', jobId: job.jobId, tenant: options.tenant ?? preflightTenant, spec: job.spec, specHash: specHash(job.spec) } as const;
  const submitted = reduce(undefined, submit, now);
  if (!submitted) throw new TypeError(`submit of ${job.jobId} created no record`);
  const record = { ...submitted.record, workflowId, taskName: job.task };
  const launch = reduce(record, { kind: 'admit' }, now)?.commands[0]?.launch;
  if (!launch) throw new TypeError(`admitting ${job.jobId} sent no launch command`);
  return launch;
}

/** uid of a dry-run Job the apiserver did not return (it exists already): owner references need one. */
const placeholderUid = '00000000-0000-0000-0000-000000000000';

/**
 * Server-side dry-run of what job-launcher would create for `command`, in its order: the Job,
 * then its owned ConfigMaps (the inputs chunks) and Secret. The first refusal is the outcome
 * (its message is the apiserver's; Secret values are scrubbed from it by the platform).
 * AlreadyExists counts as passed: the apiserver checks existence after validation and admission.
 */
export async function dryRunLaunch(kube: PreflightKube, task: string, command: LaunchRun, renderOptions: RenderOptions = defaultRenderOptions): Promise<DryRunOutcome> {
  const rendered = renderRun(command, renderOptions);
  const owner = { name: rendered.job.metadata.name ?? '', uid: placeholderUid };
  const steps: (() => Promise<void>)[] = [
    async () => {
      const job = await kube.create('job', rendered.job as unknown as V1Job, { dryRun: true });
      owner.uid = job.metadata?.uid || placeholderUid;
    },
  ];
  const { configMaps, secret } = rendered;
  for (const configMap of configMaps) {
    steps.push(async () => void (await kube.create('configMap', ownedBy(configMap, owner) as unknown as V1ConfigMap, { dryRun: true })));
  }
  if (secret) {
    steps.push(async () => void (await kube.create('secret', ownedBy(secret, owner) as unknown as V1Secret, { dryRun: true })));
  }
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      if (isAlreadyExists(error)) continue;
      if (!isRefusal(error)) throw error;
      return { task, ok: false, message: error.message };
    }
  }
  return { task, ok: true };
}

/** The apiserver answered no (invalid, forbidden by RBAC, quota or policy), as opposed to not answering. */
function isRefusal(error: unknown): error is WharfError {
  return isWharfError(error) && !error.retriable;
}

/**
 * Looks up every requirement of `plan` and dry-runs every job, at most `concurrency` requests in
 * flight. Namespaces are looked up first: objects in a missing namespace are missing without
 * asking, and jobs whose namespace is not usable are not dry-run (the namespace is reported).
 * Thrown: the platform's error when Kubernetes gave no answer (UnavailableError…).
 */
export async function runPreflight(kube: PreflightKube, plan: PreflightPlan, options: PreflightOptions = {}): Promise<PreflightResult> {
  const limit = options.concurrency ?? defaultPreflightConcurrency;
  const lookups = new Map<ResourceRequirement, ResourceLookup>();
  const namespaces = plan.resources.filter((r) => r.kind === ClusterResourceKinds.namespace);
  const namespaceStatus = new Map<string, ResourceLookup>();
  await mapLimit(namespaces, limit, async (r) => {
    const found = await lookupResource(kube, r);
    lookups.set(r, found);
    namespaceStatus.set(r.name, found);
  });
  const others = plan.resources.filter((r) => r.kind !== ClusterResourceKinds.namespace);
  for (const r of others) {
    if (namespaceStatus.get(r.namespace)?.status === 'missing') lookups.set(r, { status: 'missing' });
  }
  const toLookUp = others.filter((r) => !lookups.has(r));
  const toDryRun = plan.jobs.filter((j) => namespaceStatus.get(j.spec.namespace)?.status === 'found');
  const dryRuns = new Array<DryRunOutcome>(toDryRun.length);
  const work: (() => Promise<void>)[] = [
    ...toLookUp.map((r) => async () => void lookups.set(r, await lookupResource(kube, r))),
    ...toDryRun.map((job, i) => async () => {
      dryRuns[i] = await dryRunLaunch(kube, job.task, launchRunFor(plan.workflowId, job, options), options.renderOptions);
    }),
  ];
  await mapLimit(work, limit, (run) => run());
  return { lookups: new Map(plan.resources.map((r) => [r, lookups.get(r) ?? { status: 'missing' }])), dryRuns };
}

/**
 * The whole preflight of a (validated) workflow: plan, look up, dry-run. Returns the
 * FAILED_PRECONDITION listing every problem, or undefined when the workflow may run.
 */
export async function preflightWorkflow(
  kube: PreflightKube,
  workflowId: string,
  spec: WorkflowSpec,
  options: PreflightOptions = {},
): Promise<FailedPreconditionError | undefined> {
  const plan = planPreflight(workflowId, spec);
  const { lookups, dryRuns } = await runPreflight(kube, plan, options);
  return preflightError(plan, lookups, dryRuns);
}
