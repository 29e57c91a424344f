import { backoffDelay, type Component, type Logger } from '@wharf/platform';
import type { KubeJob, KubePod } from '../kube/kube-objects';
import type { PodLogs } from '../kube/pod-logs';
import type { ObservationPublisher } from '../observations/observation-publisher';
import { KeyedWorkQueue } from './keyed-work-queue';
import { interpretJob, runOf, type KeyedObservation } from './status-interpreter';
import { TaskOutputReader } from './task-outputs';

/** The part of the platform Informer the watcher uses (fakes implement it in unit tests). */
export interface WatchedCache<T> {
  subscribe(handlers: { add?(object: T): void; update?(object: T, old: T): void; delete?(object: T): void }): () => void;
  hasSynced(): boolean;
}

export interface JobWatcherOptions {
  /** Informers on managed Jobs (label app.kubernetes.io/managed-by=wharf), one per namespace. */
  readonly jobs: readonly WatchedCache<KubeJob>[];
  /** Informers on managed pods, same selector. */
  readonly pods: readonly WatchedCache<KubePod>[];
  readonly publisher: Pick<ObservationPublisher, 'publish' | 'forget' | 'has'>;
  /** Reads task outputs from pod logs (Jobs labelled wharf.dev/workflow-id only). */
  readonly podLogs: PodLogs;
  /** Pod logs read at once per Job, and how long one read may take. @default 4, 120 s */
  readonly outputReads?: { readonly concurrency?: number; readonly timeoutMs?: number };
  readonly logger: Logger;
  readonly now: () => Date;
  /** Jobs reconciled at once. */
  readonly concurrency: number;
  /** Injected for tests. */
  readonly setTimer?: (fn: () => void, ms: number) => () => void;
}

const jobNameLabels = ['batch.kubernetes.io/job-name', 'job-name'];

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

function isFinished(job: KubeJob): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** Some succeeded indexes' task outputs could not be read yet; the Job is reconciled again. */
export class OutputsPendingError extends Error {
  override readonly name = 'OutputsPendingError';
  constructor(job: string, pending: number, cause: unknown) {
    super(`${job}: the task output of ${pending} succeeded index(es) could not be read yet`, { cause });
  }
}

/**
 * Turns what the informers see into observations. Every change of a managed Job or of one of
 * its pods queues that Job; a worker interprets the Job's current state (level-triggered) and
 * publishes the facts not published yet. The informers' first list (at start and after every
 * relist) queues every managed Job, so a restarted launcher reports everything once more and
 * loses nothing. Publishing failures are retried with backoff, per Job.
 *
 * For workflow Jobs (label wharf.dev/workflow-id) a succeeded index is published only with its
 * task output, read from the pod's log here (see TaskOutputReader); until every such read is
 * done, the index and the run's end are held back and the Job is retried with backoff.
 */
export class JobWatcher implements Component {
  readonly name = 'job-watcher';
  private readonly jobs = new Map<string, KubeJob>();
  /** Last state of Jobs deleted but not yet reconciled. */
  private readonly gone = new Map<string, KubeJob>();
  private readonly podsByJob = new Map<string, Map<string, KubePod>>();
  private readonly queue: KeyedWorkQueue;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly outputs: TaskOutputReader;
  /** Aborts log reads in flight on stop. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: JobWatcherOptions) {
    this.queue = new KeyedWorkQueue({
      concurrency: options.concurrency,
      work: (key) => this.reconcile(key),
      retryDelayMs: (attempt) => backoffDelay(attempt, { minDelayMs: 500, maxDelayMs: 30_000 }),
      onError: (key, error, attempt) =>
        options.logger.warn({ job: key, err: error, attempt }, 'publishing observations failed or incomplete; retrying'),
      setTimer: options.setTimer,
    });
    this.outputs = new TaskOutputReader({ podLogs: options.podLogs, logger: options.logger, ...options.outputReads });
  }

  /** Subscribes to the informers; register this before them, so their first list reaches it. */
  async start(): Promise<void> {
    for (const informer of this.options.jobs) {
      this.unsubscribe.push(
        informer.subscribe({
          add: (job) => this.onJob(job),
          update: (job) => this.onJob(job),
          delete: (job) => this.onJobDeleted(job),
        }),
      );
    }
    for (const informer of this.options.pods) {
      this.unsubscribe.push(
        informer.subscribe({
          add: (pod) => this.onPod(pod, false),
          update: (pod) => this.onPod(pod, false),
          delete: (pod) => this.onPod(pod, true),
        }),
      );
    }
  }

  ready(): boolean {
    return [...this.options.jobs, ...this.options.pods].every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    this.stopping.abort(new Error('job-watcher stopping'));
    await this.queue.stop();
  }

  /** Resolves when no Job is queued or being reconciled (tests, benchmarks). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** The cached Job of a run, if the informers have seen it. */
  findJob(namespace: string, name: string): KubeJob | undefined {
    return this.jobs.get(keyOf(namespace, name));
  }

  private onJob(job: KubeJob): void {
    if (!runOf(job)) return;
    const key = keyOf(job.metadata.namespace, job.metadata.name);
    this.jobs.set(key, job);
    this.gone.delete(key);
    this.queue.add(key);
  }

  private onJobDeleted(job: KubeJob): void {
    if (!runOf(job)) return;
    const key = keyOf(job.metadata.namespace, job.metadata.name);
    this.jobs.delete(key);
    this.gone.set(key, job);
    this.queue.add(key);
  }

  private onPod(pod: KubePod, deleted: boolean): void {
    const labels = pod.metadata.labels ?? {};
    const jobName = jobNameLabels.map((l) => labels[l]).find(Boolean);
    if (!jobName) return;
    const jobKey = keyOf(pod.metadata.namespace, jobName);
    const podName = pod.metadata.name ?? '';
    if (deleted) {
      // Deleting a pod tells nothing new: its result already is in the Job's status.
      this.podsByJob.get(jobKey)?.delete(podName);
      return;
    }
    const pods = this.podsByJob.get(jobKey) ?? new Map<string, KubePod>();
    pods.set(podName, pod);
    this.podsByJob.set(jobKey, pods);
    if (this.jobs.has(jobKey)) this.queue.add(jobKey);
  }

  /** Task outputs in, then publish; throws (to be retried) while some output is pending. */
  private async publish(key: string, job: KubeJob, pods: readonly KubePod[], observations: readonly KeyedObservation[]): Promise<void> {
    const { publisher } = this.options;
    const { ready, pending, error } = await this.outputs.attach(job, pods, observations, (k) => publisher.has(k), this.stopping.signal);
    await publisher.publish(ready);
    this.outputs.release(job, ready);
    if (pending > 0) throw new OutputsPendingError(key, pending, error);
  }

  private async reconcile(key: string): Promise<void> {
    const pods = [...(this.podsByJob.get(key)?.values() ?? [])];
    const job = this.jobs.get(key);
    if (job) {
      await this.publish(key, job, pods, interpretJob(job, pods, this.options.now()));
      return;
    }
    const last = this.gone.get(key);
    if (!last) return;
    // Gone before it finished: the run was cancelled (deleted), whoever deleted it.
    const final: KubeJob = isFinished(last)
      ? last
      : { ...last, metadata: { ...last.metadata, deletionTimestamp: last.metadata.deletionTimestamp ?? this.options.now() } };
    await this.publish(key, final, pods, interpretJob(final, pods, this.options.now()));
    const run = runOf(last);
    if (run) this.options.publisher.forget(run.jobId, run.run);
    this.outputs.forget(last);
    this.gone.delete(key);
    this.podsByJob.delete(key);
  }
}
