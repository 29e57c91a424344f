import { ArchiveFinalizer } from '@wharf/contracts';
import { describeError, type Component, type Logger } from '@wharf/platform';
import { isArchiveStoreError } from '../archive/archive-store';
import {
  archivableSince,
  ArchiverAnnotations,
  hasArchiveFinalizer,
  identify,
  runOutcome,
  type JobLike,
} from '../kube/kube-objects';
import { LogReadError, type JobsPort } from '../kube/kube-ports';
import { ArchiveProcedure, StepFailedError } from './archive-procedure';
import { decideOnFailure, type FailureState, type RetryPolicyConfig } from './archive-retry-policy';
import type { ArchiverMetrics } from './archiver-metrics';
import { KeyedWorkQueue } from './work-queue';

/** The informer's part the controller uses (platform Informer<V1Job> fits). */
export interface JobSource {
  list(): JobLike[];
  subscribe(handlers: { add?(job: JobLike): void; update?(job: JobLike, old: JobLike): void; delete?(job: JobLike): void }): () => void;
}

export interface ArchiveControllerOptions {
  readonly source: JobSource;
  readonly jobs: JobsPort;
  readonly procedure: ArchiveProcedure;
  /** Only the leader works; others stay idle (absent: always work). */
  readonly leadership?: { isLeader(): boolean };
  readonly retry: RetryPolicyConfig;
  /** Jobs archived at once. */
  readonly workers: number;
  /** Delete Jobs after archiving (also for leftover annotated Jobs). */
  readonly deleteJob: boolean;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly metrics: ArchiverMetrics;
  /** How often the pending gauges are refreshed. @default 10_000 */
  readonly gaugeIntervalMs?: number;
}

/**
 * The finalizer controller: Job events (from the informer, with its periodic resync) put
 * `namespace/name` keys on a work queue; a worker re-reads the Job from the API and runs the
 * {@link ArchiveProcedure}. Failures back off per job until the deadline policy applies;
 * progress and trouble are visible in metrics and as observations.
 */
export class ArchiveController implements Component {
  readonly name = 'archive-controller';
  private readonly queue: KeyedWorkQueue;
  private readonly failures = new Map<string, FailureState>();
  private unsubscribe: (() => void) | undefined;
  private gaugeTimer: NodeJS.Timeout | undefined;
  /** When this replica started working (start, or taking the lead); see isFresh. */
  private activeSince = 0;

  constructor(private readonly options: ArchiveControllerOptions) {
    this.queue = new KeyedWorkQueue({
      concurrency: options.workers,
      handler: (key) => this.process(key),
      onError: (key, error) => options.logger.error({ key, err: describeError(error) }, 'archive worker failed unexpectedly'),
    });
  }

  async start(): Promise<void> {
    this.activeSince = this.options.clock().getTime();
    const enqueue = (job: JobLike): void => {
      if (this.isRelevant(job)) this.queue.add(keyOf(job));
    };
    this.unsubscribe = this.options.source.subscribe({ add: enqueue, update: enqueue });
    this.resync();
    this.gaugeTimer = setInterval(() => this.refreshGauges(), this.options.gaugeIntervalMs ?? 10_000);
    this.gaugeTimer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.gaugeTimer);
    await this.queue.stop();
  }

  /** Called when this replica becomes the leader: Jobs from before may be half-done. */
  takeOver(): void {
    this.activeSince = this.options.clock().getTime();
    this.resync();
  }

  /** Enqueues every relevant Job (start, and when this replica becomes the leader). */
  resync(): void {
    for (const job of this.options.source.list()) {
      if (this.isRelevant(job)) this.queue.add(keyOf(job));
    }
    this.refreshGauges();
  }

  /** Resolves when no key is queued or in progress (tests, benchmarks). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private isRelevant(job: JobLike): boolean {
    if (hasArchiveFinalizer(job)) return runOutcome(job) !== undefined;
    const annotations = job.metadata?.annotations ?? {};
    const leftover = annotations[ArchiverAnnotations.archived] ?? annotations[ArchiverAnnotations.lost];
    return this.options.deleteJob && leftover !== undefined && job.metadata?.deletionTimestamp === undefined;
  }

  private async process(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const { leadership, jobs, procedure, logger, metrics } = this.options;
    if (leadership && !leadership.isLeader()) return;
    const [namespace = '', name = ''] = key.split('/');
    let job: JobLike | undefined;
    try {
      job = await jobs.get(namespace, name);
    } catch (error) {
      logger.warn({ namespace, job: name, err: describeError(error) }, 'cannot read job');
      return { requeueAfterMs: this.options.retry.minDelayMs };
    }
    if (!job || !this.isRelevant(job)) {
      this.failures.delete(key);
      return;
    }
    const started = Date.now();
    try {
      const outcome = await procedure.run(job, { fresh: this.isFresh(key, job) });
      this.failures.delete(key);
      if (outcome.kind === 'archived') {
        metrics.storeUp.set(1);
        metrics.archiveSeconds.observe((Date.now() - started) / 1000);
        metrics.jobsArchived.inc({ outcome: outcome.manifest.outcome, resumed: String(outcome.resumed) });
        if (!outcome.resumed) {
          for (const m of outcome.manifest.missing) metrics.missingLogs.inc({ reason: m.reason });
        }
      }
      return;
    } catch (error) {
      return this.onFailure(key, job, error);
    }
  }

  private async onFailure(key: string, job: JobLike, error: unknown): Promise<{ requeueAfterMs?: number }> {
    const { procedure, logger, metrics, retry, clock } = this.options;
    const id = identify(job);
    const step = error instanceof StepFailedError ? error.step : 'unknown';
    const reason = reasonOf(error);
    if (isArchiveStoreError(causeOf(error))) metrics.storeUp.set(0);
    metrics.failures.inc({ step, reason });
    const previous = this.failures.get(key) ?? { attempts: 0, reportedRetrying: false, reportedDeadline: false };
    const state: FailureState = { ...previous, attempts: previous.attempts + 1 };
    const decision = decideOnFailure(state, archivableSince(job), clock().getTime(), retry);
    const fields = { jobId: id.jobId, run: id.run, namespace: id.namespace, job: id.name, step, reason, attempts: state.attempts };

    if (decision.action === 'release') {
      try {
        await procedure.release(job, reason);
        metrics.released.inc({ reason });
        this.failures.delete(key);
        return {};
      } catch (releaseError) {
        logger.error({ ...fields, err: describeError(releaseError) }, 'cannot release the archive finalizer yet');
        this.failures.set(key, state);
        return { requeueAfterMs: retry.maxDelayMs };
      }
    }
    logger.warn({ ...fields, err: describeError(error), retryInMs: decision.delayMs, pastDeadline: decision.pastDeadline }, 'archive failed; finalizer held, will retry');
    let reported = { reportedRetrying: state.reportedRetrying, reportedDeadline: state.reportedDeadline };
    if (decision.report && hasArchiveFinalizer(job)) {
      try {
        await procedure.reportFailure(job, reason);
        reported = { reportedRetrying: true, reportedDeadline: state.reportedDeadline || decision.pastDeadline };
      } catch (reportError) {
        logger.warn({ ...fields, err: describeError(reportError) }, 'cannot publish ArchiveFailed');
      }
    }
    this.failures.set(key, { ...state, ...reported });
    return { requeueAfterMs: decision.delayMs };
  }

  /**
   * True when no writer can have started on this Job before: it became archivable (by the
   * API's clock, second resolution) well after this replica became active, and no pass of ours
   * failed on it. The margin absorbs clock skew between the apiserver and this pod.
   */
  private isFresh(key: string, job: JobLike): boolean {
    const since = archivableSince(job);
    return !this.failures.has(key) && since !== undefined && since > this.activeSince + FRESH_MARGIN_MS;
  }

  private refreshGauges(): void {
    const now = this.options.clock().getTime();
    let pending = 0;
    let oldest = now;
    for (const job of this.options.source.list()) {
      if (!job.metadata?.finalizers?.includes(ArchiveFinalizer) || runOutcome(job) === undefined) continue;
      pending++;
      oldest = Math.min(oldest, archivableSince(job) ?? now);
    }
    this.options.metrics.pendingJobs.set(pending);
    this.options.metrics.oldestPendingSeconds.set(pending > 0 ? (now - oldest) / 1000 : 0);
  }
}

const FRESH_MARGIN_MS = 5_000;

function keyOf(job: JobLike): string {
  return `${job.metadata?.namespace ?? ''}/${job.metadata?.name ?? ''}`;
}

function causeOf(error: unknown): unknown {
  return error instanceof StepFailedError ? error.cause : error;
}

/** A short, stable reason for ArchiveFailed and metrics; never a secret or a message. */
export function reasonOf(error: unknown): string {
  const cause = causeOf(error);
  if (isArchiveStoreError(cause)) return cause.reason;
  if (cause instanceof LogReadError) return 'LogUnavailable';
  if (error instanceof StepFailedError) {
    if (error.step === 'publish') return 'KafkaUnavailable';
    return 'KubernetesUnavailable';
  }
  return 'Unknown';
}
