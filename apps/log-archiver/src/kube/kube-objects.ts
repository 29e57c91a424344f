import { ArchiveFinalizer, KubeLabels } from '@wharf/contracts';

/**
 * The parts of Kubernetes objects the archiver reads, typed structurally so the app does not
 * depend on @kubernetes/client-node (only libs/platform may); client-node's V1Job and V1Pod are
 * assignable to these. Timestamps are Dates from client-node and strings from raw JSON.
 */
export type KubeTime = Date | string;

export interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: KubeTime;
  creationTimestamp?: KubeTime;
}

export interface ContainerLike {
  name: string;
  /** `Always` on an init container makes it a sidecar. */
  restartPolicy?: string;
}

export interface PodSpecLike {
  initContainers?: ContainerLike[];
  containers?: ContainerLike[];
}

export interface JobConditionLike {
  type: string;
  status: string;
  reason?: string;
  lastTransitionTime?: KubeTime;
}

export interface JobLike {
  metadata?: ObjectMetaLike;
  spec?: {
    completions?: number;
    completionMode?: string;
    template?: { spec?: PodSpecLike };
  };
  status?: {
    conditions?: JobConditionLike[];
    completionTime?: KubeTime;
  };
}

export interface ContainerStateLike {
  waiting?: { reason?: string };
  running?: { startedAt?: KubeTime };
  terminated?: { exitCode?: number; reason?: string };
}

export interface ContainerStatusLike {
  name: string;
  restartCount?: number;
  state?: ContainerStateLike;
  lastState?: ContainerStateLike;
}

export interface PodLike {
  metadata?: ObjectMetaLike;
  spec?: PodSpecLike;
  status?: {
    phase?: string;
    initContainerStatuses?: ContainerStatusLike[];
    containerStatuses?: ContainerStatusLike[];
  };
}

/** The annotation (and label) holding an Indexed Job pod's completion index. */
export const CompletionIndexAnnotation = 'batch.kubernetes.io/job-completion-index';
/** Set by job-launcher on every Job. */
export const TenantAnnotation = 'wharf.dev/tenant';

/** Who a Job is, in Wharf's terms. */
export interface JobIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly jobId: string;
  readonly run: number;
  readonly tenant: string;
}

/** How a run ended, as far as the archive is concerned. */
export const RunOutcomes = {
  complete: 'Complete',
  failed: 'Failed',
  /** Deleted (cancelled) before it finished. */
  cancelled: 'Cancelled',
} as const;
export type RunOutcome = (typeof RunOutcomes)[keyof typeof RunOutcomes];

export function toMillis(time: KubeTime | undefined): number | undefined {
  if (time === undefined) return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The job id and run from the Job's labels (annotations as a fallback); a Job without them is
 * archived under its own name, run 0.
 */
export function identify(job: JobLike): JobIdentity {
  const meta = job.metadata ?? {};
  const pick = (key: string): string | undefined => meta.labels?.[key] ?? meta.annotations?.[key];
  const run = Number.parseInt(pick(KubeLabels.run) ?? '', 10);
  return {
    namespace: meta.namespace ?? 'default',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    jobId: pick(KubeLabels.jobId) ?? meta.name ?? '',
    run: Number.isFinite(run) && run >= 0 ? run : 0,
    tenant: meta.annotations?.[TenantAnnotation] ?? '',
  };
}

export function hasArchiveFinalizer(job: JobLike): boolean {
  return job.metadata?.finalizers?.includes(ArchiveFinalizer) ?? false;
}

/** Complete or Failed (condition status True), else undefined. */
export function finishedCondition(job: JobLike): JobConditionLike | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** The outcome once the Job finished or is being deleted; undefined while it still runs. */
export function runOutcome(job: JobLike): RunOutcome | undefined {
  const finished = finishedCondition(job);
  if (finished) return finished.type === 'Complete' ? RunOutcomes.complete : RunOutcomes.failed;
  if (job.metadata?.deletionTimestamp !== undefined) return RunOutcomes.cancelled;
  return undefined;
}

/**
 * When the Job became archivable: the finish time, else the deletion time. The archive
 * deadline counts from here, so it survives archiver restarts (it lives in the API object).
 */
export function archivableSince(job: JobLike): number | undefined {
  const finished = finishedCondition(job);
  return (
    toMillis(finished?.lastTransitionTime) ??
    toMillis(job.status?.completionTime) ??
    toMillis(job.metadata?.deletionTimestamp) ??
    (finished ? toMillis(job.metadata?.creationTimestamp) : undefined)
  );
}

export function completionIndexOf(pod: PodLike): number {
  const raw = pod.metadata?.annotations?.[CompletionIndexAnnotation] ?? pod.metadata?.labels?.[CompletionIndexAnnotation];
  const index = Number.parseInt(raw ?? '', 10);
  return Number.isFinite(index) && index >= 0 ? index : 0;
}

/** The completion indexes a Job has: 0…completions-1 when Indexed, otherwise just 0. */
export function expectedIndexes(job: JobLike): number[] {
  if (job.spec?.completionMode !== 'Indexed') return [0];
  const completions = job.spec.completions ?? 1;
  return Array.from({ length: Math.max(0, completions) }, (_, i) => i);
}

/** Written by the archiver in the same patch that removes its finalizer (see archive-procedure.ts). */
export const ArchiverAnnotations = {
  /** The run's manifest URI: the logs are archived. */
  archived: 'wharf.dev/logs-archived',
  /** Why the finalizer was released without an archive (policy "release"). */
  lost: 'wharf.dev/logs-lost',
} as const;

/** The owned Secret job-launcher creates for inline secret values. */
export function secretNameOf(jobName: string): string {
  return `${jobName}-secrets`;
}
