import { defaultMaxOutputBytes, KubeLabels, TaskOutputScanner } from '@wharf/contracts';
import { InvalidArgumentError, NotFoundError, type Logger } from '@wharf/platform';
import type { KubeJob, KubePod } from '../kube/kube-objects';
import type { PodLogs } from '../kube/pod-logs';
import { ContainerContract } from '../launch/job-renderer';
import { indexOfPod, type KeyedObservation } from './status-interpreter';

/** `result.reason` of a succeeded index whose log could not be read because its pod is gone. */
export const outputUnavailable = 'output unavailable';

/** What a succeeded index reports besides `succeeded: true`. */
export interface IndexOutput {
  /** The scanner's canonical JSON; '' when the task emitted none (or it is unavailable). */
  readonly outputJson: string;
  /** `Completed`, the scanner's problem (invalid or oversized marker), or {@link outputUnavailable}. */
  readonly reason: string;
}

export interface TaskOutputReaderOptions {
  readonly podLogs: PodLogs;
  readonly logger: Logger;
  /** Logs read at once for one Job. @default 4 */
  readonly concurrency?: number;
  /** A log read taking longer is abandoned and retried later. @default 120_000 */
  readonly timeoutMs?: number;
  /** @default defaultMaxOutputBytes (64 KiB) */
  readonly maxOutputBytes?: number;
}

export interface AttachedOutputs {
  /** The observations to publish now: succeeded indexes of a workflow Job carry their output. */
  readonly ready: KeyedObservation[];
  /**
   * Succeeded indexes whose log could not be read this time (retry later). Their facts are
   * held back, and so is the run's end (`finished`/`cancelled`): the scheduler takes the first
   * report of an index as final and ignores index reports after the end.
   */
  readonly pending: number;
  /** The first failure behind `pending`. */
  readonly error?: unknown;
}

/** Only Jobs of workflow tasks have outputs; other Jobs cost nothing here. */
export function isWorkflowJob(job: KubeJob): boolean {
  return Boolean(job.metadata.labels?.[KubeLabels.workflowId]);
}

const controllerUidLabels = ['batch.kubernetes.io/controller-uid', 'controller-uid'];

function belongsTo(pod: KubePod, jobUid: string): boolean {
  if (!jobUid) return true;
  const labels = pod.metadata.labels ?? {};
  return (
    controllerUidLabels.some((l) => labels[l] === jobUid) || (pod.metadata.ownerReferences ?? []).some((o) => o.uid === jobUid)
  );
}

function createdAt(pod: KubePod): number {
  const t = pod.metadata.creationTimestamp;
  return t === undefined ? 0 : new Date(t).getTime() || 0;
}

/** The Succeeded pod of each wanted index (the newest, should there be several). */
function succeededPods(pods: readonly KubePod[], jobUid: string, wanted: ReadonlySet<number>): Map<number, KubePod> {
  const out = new Map<number, KubePod>();
  for (const pod of pods) {
    if (pod.status?.phase !== 'Succeeded' || !belongsTo(pod, jobUid)) continue;
    const index = indexOfPod(pod);
    if (index === undefined || !wanted.has(index)) continue;
    const best = out.get(index);
    if (!best || createdAt(pod) >= createdAt(best)) out.set(index, pod);
  }
  return out;
}

/** The pod is gone (404) or has no such container (400): no retry can read this log. */
function isPermanent(error: unknown): boolean {
  return error instanceof NotFoundError || error instanceof InvalidArgumentError;
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Task outputs (docs/adr/0007-task-outputs.md): for a Job labelled `wharf.dev/workflow-id`,
 * reads the `main` container's log of each succeeded index's pod once, streamed through
 * {@link TaskOutputScanner} (bounded memory, any log length), and puts the output into that
 * index's observation.
 *
 * An output is kept per (Job uid, index) from its read until its observation is published
 * ({@link release}), so a log is read once even when publishing fails or other indexes are
 * still pending; afterwards the publisher's memory of the fact stops a second read. A failed
 * read is retried on the next reconcile. When the pod is gone the index is reported with
 * reason `output unavailable` and no output — never an invented one.
 */
export class TaskOutputReader {
  /** Job uid → index → output read, not yet published. */
  private readonly outputs = new Map<string, Map<number, IndexOutput>>();
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;

  constructor(private readonly options: TaskOutputReaderOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxOutputBytes = options.maxOutputBytes ?? defaultMaxOutputBytes;
  }

  /**
   * Fills in the outputs of the Job's succeeded indexes, reading the logs not read yet.
   * `isPublished`: facts already published need no output (the publisher skips them anyway).
   */
  async attach(
    job: KubeJob,
    pods: readonly KubePod[],
    observations: readonly KeyedObservation[],
    isPublished: (key: string) => boolean,
    signal?: AbortSignal,
  ): Promise<AttachedOutputs> {
    if (!isWorkflowJob(job)) return { ready: [...observations], pending: 0 };
    const uid = job.metadata.uid ?? '';
    const known = this.outputs.get(uid) ?? new Map<number, IndexOutput>();
    const needed = (o: KeyedObservation): number | undefined => {
      const result = o.observation.index?.result;
      return result?.succeeded && !isPublished(o.key) ? result.index : undefined;
    };
    const wanted = new Set<number>();
    for (const o of observations) {
      const index = needed(o);
      if (index !== undefined && !known.has(index)) wanted.add(index);
    }
    let error: unknown;
    if (wanted.size > 0) {
      error = await this.read(job, pods, wanted, known, signal);
      if (known.size > 0) this.outputs.set(uid, known);
    }

    const pending = observations.filter((o) => {
      const index = needed(o);
      return index !== undefined && !known.has(index);
    }).length;
    const ready: KeyedObservation[] = [];
    for (const o of observations) {
      const index = needed(o);
      if (index !== undefined) {
        const output = known.get(index);
        if (!output) continue;
        const result = o.observation.index?.result;
        if (!result) continue;
        ready.push({ key: o.key, observation: { ...o.observation, index: { result: { ...result, ...output } } } });
      } else if (pending > 0 && (o.observation.finished || o.observation.cancelled)) {
        continue;
      } else {
        ready.push(o);
      }
    }
    return pending > 0 ? { ready, pending, error } : { ready, pending };
  }

  /** Forgets the outputs of published observations: the publisher now remembers those facts. */
  release(job: KubeJob, published: readonly KeyedObservation[]): void {
    const uid = job.metadata.uid ?? '';
    const known = this.outputs.get(uid);
    if (!known) return;
    for (const o of published) {
      const index = o.observation.index?.result?.index;
      if (index !== undefined) known.delete(index);
    }
    if (known.size === 0) this.outputs.delete(uid);
  }

  /** Drops what is kept for a Job that is gone. */
  forget(job: KubeJob): void {
    this.outputs.delete(job.metadata.uid ?? '');
  }

  /** Outputs kept, not yet published (tests, metrics). */
  size(): number {
    let n = 0;
    for (const known of this.outputs.values()) n += known.size;
    return n;
  }

  /** Reads the outputs of `wanted` into `known`; returns the first failure of a read to retry. */
  private async read(
    job: KubeJob,
    pods: readonly KubePod[],
    wanted: ReadonlySet<number>,
    known: Map<number, IndexOutput>,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const uid = job.metadata.uid ?? '';
    const namespace = job.metadata.namespace ?? '';
    const jobName = job.metadata.name ?? '';
    const { logger, podLogs } = this.options;
    let failure: unknown;
    const podOf = succeededPods(pods, uid, wanted);
    const missing = new Set([...wanted].filter((index) => !podOf.has(index)));
    if (missing.size > 0) {
      // The Job controller counted the index, but the pod cache has no Succeeded pod for it:
      // the cache lags, or the pod is gone. The apiserver tells which.
      try {
        for (const [index, pod] of succeededPods(await podLogs.listJobPods(namespace, uid), uid, missing)) podOf.set(index, pod);
        for (const index of missing) {
          if (podOf.has(index)) continue;
          known.set(index, { outputJson: '', reason: outputUnavailable });
          logger.warn({ job: `${namespace}/${jobName}`, index }, 'task output unavailable: the succeeded pod is gone');
        }
      } catch (error) {
        failure = error;
      }
    }
    await forEachLimited([...podOf], this.concurrency, async ([index, pod]) => {
      const podName = pod.metadata.name ?? '';
      const scanner = new TaskOutputScanner(this.maxOutputBytes);
      const timeout = AbortSignal.timeout(this.timeoutMs);
      try {
        const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
        await podLogs.streamLog(namespace, podName, ContainerContract.containerName, (text) => scanner.push(text), abort);
      } catch (error) {
        if (isPermanent(error)) {
          known.set(index, { outputJson: '', reason: outputUnavailable });
          logger.warn({ job: `${namespace}/${jobName}`, index, pod: podName, err: error }, 'task output unavailable: the log cannot be read');
        } else {
          failure ??= error;
        }
        return;
      }
      const { outputJson, problem } = scanner.finish();
      known.set(index, { outputJson, reason: problem || 'Completed' });
      if (problem) logger.info({ job: `${namespace}/${jobName}`, index, pod: podName, problem }, 'task output marker ignored');
    });
    return failure;
  }
}
