import { KubeLabels, type IndexCounts, type IndexResult, type Observation } from '@wharf/contracts';
import type { KubeJob, KubePod } from '../kube/kube-objects';
import { ContainerContract, LaunchAnnotations } from '../launch/job-renderer';

export const observationSource = 'job-launcher';

/**
 * An observation with the key that identifies the fact it states. Two observations with the
 * same key state the same fact, so publishing one twice is harmless and the publisher may
 * skip repeats. Keys: `<jobId>/<run>/created|started|finished|cancelled|rejected` and
 * `<jobId>/<run>/index/<i>`.
 */
export interface KeyedObservation {
  readonly key: string;
  readonly observation: Observation;
}

export function observationKey(jobId: string, run: number, fact: string): string {
  return `${jobId}/${run}/${fact}`;
}

/** Which run a Job is, from its labels/annotations; undefined for objects that are not ours. */
export function runOf(job: { metadata: KubeJob['metadata'] }): { jobId: string; run: number } | undefined {
  const labels = job.metadata.labels ?? {};
  if (labels[KubeLabels.managedBy] !== KubeLabels.managedByValue) return undefined;
  const jobId = labels[KubeLabels.jobId] ?? job.metadata.annotations?.[LaunchAnnotations.jobId];
  const run = Number(labels[KubeLabels.run] ?? job.metadata.annotations?.[LaunchAnnotations.run]);
  if (!jobId || !Number.isInteger(run) || run < 1) return undefined;
  return { jobId, run };
}

/** Parses Kubernetes' interval list ("1,3-5,7") into indexes, capped at `limit` entries. */
export function parseIndexes(text: string | undefined, limit = 1_000_000): number[] {
  const out: number[] = [];
  if (!text) return out;
  for (const part of text.split(',')) {
    const [lo, hi] = part.split('-').map((s) => Number(s.trim()));
    if (lo === undefined || !Number.isInteger(lo)) continue;
    const end = hi !== undefined && Number.isInteger(hi) ? hi : lo;
    for (let i = lo; i <= end && out.length < limit; i++) out.push(i);
  }
  return out;
}

function condition(job: KubeJob, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** A pod's completion index (annotation, else label); undefined for pods of non-indexed Jobs. */
export function indexOfPod(pod: KubePod): number | undefined {
  const raw = pod.metadata.annotations?.[LaunchAnnotations.completionIndex] ?? pod.metadata.labels?.[LaunchAnnotations.completionIndex];
  const index = Number(raw);
  return raw !== undefined && Number.isInteger(index) ? index : undefined;
}

function podHasRun(pod: KubePod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Running') return true;
  if (phase === 'Succeeded') return true;
  if (phase === 'Failed') {
    return (pod.status?.containerStatuses ?? []).some((c) => c.state?.terminated !== undefined || c.state?.running !== undefined);
  }
  return false;
}

function failureCount(pod: KubePod): number {
  return Number(pod.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'] ?? 0) || 0;
}

/** The failed pod that decided a failed index: the one with the most failures before it. */
function decisivePod(pods: readonly KubePod[]): KubePod | undefined {
  let best: KubePod | undefined;
  for (const pod of pods) {
    if (pod.status?.phase !== 'Failed') continue;
    if (!best || failureCount(pod) >= failureCount(best)) best = pod;
  }
  return best;
}

function failedIndexResult(index: number, pods: readonly KubePod[]): IndexResult {
  const pod = decisivePod(pods);
  const main = pod?.status?.containerStatuses?.find((c) => c.name === ContainerContract.containerName);
  const terminated = main?.state?.terminated;
  const disrupted = pod?.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  return {
    index,
    succeeded: false,
    // -1: the pod is gone (or never ran), so its exit code is unknown.
    exitCode: terminated?.exitCode ?? -1,
    reason: disrupted ? 'Disrupted' : (terminated?.reason ?? pod?.status?.reason ?? 'Failed'),
    outputJson: '',
  };
}

/**
 * Kubernetes Job (and its pods) → the facts it shows about the run, oldest first:
 * created, started (a pod ran), each finished index, and the run's end — finished
 * (Complete / Failed with BackoffLimitExceeded, DeadlineExceeded, FailedIndexes,
 * PodFailurePolicy…) or cancelled (deleted before it finished).
 *
 * Level-triggered and pure: it looks only at the current state, so it is called again after
 * every change, after restarts and on resync, and returns the same facts each time.
 */
export function interpretJob(job: KubeJob, pods: readonly KubePod[], now: Date): KeyedObservation[] {
  const id = runOf(job);
  if (!id) return [];
  const { jobId, run } = id;
  const out: KeyedObservation[] = [];
  const base = { jobId, run, observedAt: now, source: observationSource };
  const add = (fact: string, observation: Omit<Observation, 'jobId' | 'run' | 'observedAt' | 'source'>): void => {
    out.push({ key: observationKey(jobId, run, fact), observation: { ...base, ...observation } });
  };

  add('created', { created: { namespace: job.metadata.namespace ?? '', jobName: job.metadata.name ?? '' } });

  const status = job.status ?? {};
  const total = job.spec?.completions ?? 1;
  const succeededIndexes = parseIndexes(status.completedIndexes, total);
  const failedIndexes = parseIndexes(status.failedIndexes, total);
  const complete = condition(job, 'Complete');
  const failed = condition(job, 'Failed');

  if (pods.some(podHasRun) || succeededIndexes.length > 0 || failedIndexes.length > 0 || complete !== undefined) {
    add('started', { started: {} });
  }

  const podsByIndex = new Map<number, KubePod[]>();
  for (const pod of pods) {
    const index = indexOfPod(pod);
    if (index === undefined) continue;
    const list = podsByIndex.get(index) ?? [];
    list.push(pod);
    podsByIndex.set(index, list);
  }
  for (const index of succeededIndexes) {
    add(`index/${index}`, { index: { result: { index, succeeded: true, exitCode: 0, reason: 'Completed', outputJson: '' } } });
  }
  for (const index of failedIndexes) {
    add(`index/${index}`, { index: { result: failedIndexResult(index, podsByIndex.get(index) ?? []) } });
  }
  if (failed) {
    // A run ended by FailJob or a deadline leaves the indexes it cut short out of
    // failedIndexes; those whose pod failed still get their exit code reported.
    const decided = new Set([...succeededIndexes, ...failedIndexes]);
    const cutShort = [...podsByIndex.keys()]
      .filter((index) => !decided.has(index) && (podsByIndex.get(index) ?? []).some((p) => p.status?.phase === 'Failed'))
      .sort((a, b) => a - b);
    for (const index of cutShort) {
      add(`index/${index}`, { index: { result: failedIndexResult(index, podsByIndex.get(index) ?? []) } });
    }
  }

  const counts: IndexCounts = {
    total,
    succeeded: succeededIndexes.length,
    failed: failedIndexes.length,
    active: status.active ?? 0,
  };
  if (complete) {
    add('finished', { finished: { succeeded: true, reason: 'Complete', message: '', counts, failedIndexes: [] } });
  } else if (failed) {
    add('finished', {
      finished: {
        succeeded: false,
        reason: failed.reason ?? 'Failed',
        message: (failed.message ?? '').slice(0, 1024),
        counts,
        failedIndexes,
      },
    });
  } else if (job.metadata.deletionTimestamp) {
    add('cancelled', { cancelled: { reason: job.metadata.annotations?.[LaunchAnnotations.cancelReason] ?? 'JobDeleted' } });
  }
  return out;
}
