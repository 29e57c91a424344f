import type { Readable } from 'node:stream';
import { ArchiveFinalizer, type Observation } from '@wharf/contracts';
import { isRetriable, NotFoundError, WharfError, type Logger } from '@wharf/platform';
import type { ArchiveStore } from '../archive/archive-store';
import type { ObjectLayout, RunRef } from '../archive/object-layout';
import {
  buildManifest,
  MissingReasons,
  parseManifest,
  serializeManifest,
  type ManifestMissingLog,
  type ManifestObject,
  type RunManifest,
} from '../archive/run-manifest';
import {
  ArchiverAnnotations,
  hasArchiveFinalizer,
  identify,
  runOutcome,
  secretNameOf,
  type JobIdentity,
  type JobLike,
} from '../kube/kube-objects';
import { LogReadError, type JobsPort, type ObservationSink, type PodsPort, type SecretsPort } from '../kube/kube-ports';
import { LogDigest } from '../logs/log-digest';
import { SecretRedactor } from '../logs/secret-redactor';
import { planArchive, type LogTarget } from './archive-plan';
import type { StreamSlots } from './stream-slots';

export const ObservationSource = 'log-archiver';

export interface ArchiveProcedureOptions {
  /** Container logs streamed at once per job. @default 4 */
  readonly logConcurrency?: number;
  /** Delete the Job once its finalizer is removed. @default true */
  readonly deleteJob?: boolean;
  /** Replace the job's secret values in archived logs. @default true */
  readonly redact?: boolean;
  /** Secret values shorter than this are not redacted (they would shred the log). @default 4 */
  readonly minSecretLength?: number;
  /** @default '[redacted]' */
  readonly replacement?: string;
}

export interface ArchiveProcedureDeps {
  readonly store: ArchiveStore;
  readonly layout: ObjectLayout;
  readonly jobs: JobsPort;
  readonly pods: PodsPort;
  readonly secrets: SecretsPort;
  readonly observations: ObservationSink;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly options?: ArchiveProcedureOptions;
  /** Called per archived log (metrics). */
  readonly onLogArchived?: (object: ManifestObject) => void;
  /** Log streams across all jobs; absent: only the per-job `logConcurrency` applies. */
  readonly streamSlots?: StreamSlots;
}

/** What one pass did. */
export type ProcedureOutcome =
  /** Nothing to do (no finalizer and nothing left to clean up, or not finished yet). */
  | { readonly kind: 'idle' }
  /** Archived (or found archived), published, finalizer removed, Job deleted. */
  | { readonly kind: 'archived'; readonly manifestUri: string; readonly resumed: boolean; readonly manifest: RunManifest }
  /** Only the deletion was left (a crash came between finalizer removal and delete). */
  | { readonly kind: 'deleted' }
  /** The finalizer was released without an archive (policy "release"). */
  | { readonly kind: 'released' };

/** Which step a failure happened in (metrics, the ArchiveFailed reason). */
export type ProcedureStep = 'inspect' | 'archive' | 'manifest' | 'publish' | 'finalizer' | 'delete';

/** Thrown by {@link ArchiveProcedure} with the failing step attached; as retriable as its cause. */
export class StepFailedError extends WharfError {
  override readonly name: string = 'StepFailedError';
  override readonly retriable: boolean;
  constructor(
    readonly step: ProcedureStep,
    cause: unknown,
  ) {
    super(`log archiving failed in step ${step}`, { cause });
    this.retriable = isRetriable(cause);
  }
}

/**
 * The per-job procedure, in an order that never loses logs:
 *
 *   1. archive   every log object written and verified (keys derived from job, run, index,
 *                pod, container: rewriting overwrites, never duplicates)
 *   2. manifest  written and verified last: its presence means the run's archive is complete
 *   3. publish   LogsArchived(manifest URI) on wharf.observations, acks=all
 *   4. finalizer removed with a resourceVersion-checked patch that also annotates the Job
 *                `wharf.dev/logs-archived=<manifest URI>`
 *   5. delete    the Job, background propagation, uid precondition
 *
 * It is resumable from any crash because each pass starts from what is observable: a Job
 * with the finalizer and a valid manifest for its uid resumes at step 3 (re-publishing is
 * harmless: observations are idempotent); a Job without the finalizer but with the
 * annotation resumes at step 5. Anything less than a verified manifest redoes steps 1–2,
 * after removing what an interrupted write left behind.
 */
export class ArchiveProcedure {
  constructor(private readonly deps: ArchiveProcedureDeps) {}

  /**
   * One idempotent pass over a Job. `fresh`: no earlier attempt (of any replica) can have
   * written for this Job, so looking for its manifest and for interrupted uploads is skipped
   * (two store round trips per job). Skipping is always safe — rewriting overwrites — it only
   * leaves invisible leftovers of a crashed writer, which is why the controller passes it only
   * for Jobs that became archivable after it took over. Thrown: {@link StepFailedError}.
   */
  async run(job: JobLike, options: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<ProcedureOutcome> {
    const { signal, fresh = false } = options;
    const id = identify(job);
    if (!hasArchiveFinalizer(job)) {
      const leftover = job.metadata?.annotations?.[ArchiverAnnotations.archived] ?? job.metadata?.annotations?.[ArchiverAnnotations.lost];
      if (leftover !== undefined && job.metadata?.deletionTimestamp === undefined && this.deleteJob) {
        await this.step('delete', () => this.deps.jobs.delete(id.namespace, id.name, id.uid));
        return { kind: 'deleted' };
      }
      return { kind: 'idle' };
    }
    const outcome = runOutcome(job);
    if (outcome === undefined) return { kind: 'idle' };

    const run: RunRef = { namespace: id.namespace, jobId: id.jobId, run: id.run };
    const manifestKey = this.deps.layout.manifestKey(run);
    let manifest = fresh ? undefined : await this.step('inspect', () => this.existingManifest(manifestKey, id));
    const resumed = manifest !== undefined;
    if (!manifest) {
      const { objects, missing } = await this.archiveLogs(job, id, run, fresh, signal);
      manifest = buildManifest({
        namespace: id.namespace,
        jobId: id.jobId,
        run: id.run,
        jobName: id.name,
        jobUid: id.uid,
        tenant: id.tenant,
        outcome,
        archivedAt: this.deps.clock(),
        objects,
        missing,
      });
      const body = serializeManifest(manifest);
      await this.step('manifest', () =>
        this.deps.store.put(manifestKey, body, { contentType: 'application/json', ...(signal ? { signal } : {}) }),
      );
    }
    const manifestUri = this.deps.store.uri(manifestKey);
    const totals = manifest.totals;
    await this.step('publish', () =>
      this.deps.observations.publish(
        this.observation(id, {
          logsArchived: { manifest: manifestUri, objects: totals.objects, bytes: totals.bytes, missing: totals.missing },
        }),
      ),
    );
    const gone = await this.step('finalizer', () => this.removeFinalizer(job, id, { [ArchiverAnnotations.archived]: manifestUri }));
    if (!gone && this.deleteJob && job.metadata?.deletionTimestamp === undefined) {
      await this.step('delete', () => this.deps.jobs.delete(id.namespace, id.name, id.uid));
    }
    this.deps.logger.info(
      { jobId: id.jobId, run: id.run, namespace: id.namespace, job: id.name, objects: totals.objects, missing: totals.missing, bytes: totals.bytes, resumed },
      'job logs archived',
    );
    return { kind: 'archived', manifestUri, resumed, manifest };
  }

  /**
   * Policy "release" after the deadline: record the loss first (ArchiveFailed released=true),
   * then remove the finalizer (annotated `wharf.dev/logs-lost`) and delete the Job. If the
   * loss cannot be recorded, nothing is released. Thrown: {@link StepFailedError}.
   */
  async release(job: JobLike, reason: string): Promise<ProcedureOutcome> {
    const id = identify(job);
    if (!hasArchiveFinalizer(job)) return { kind: 'idle' };
    await this.step('publish', () =>
      this.deps.observations.publish(this.observation(id, { archiveFailed: { reason, released: true, retrying: false } })),
    );
    const gone = await this.step('finalizer', () => this.removeFinalizer(job, id, { [ArchiverAnnotations.lost]: reason }));
    if (!gone && this.deleteJob && job.metadata?.deletionTimestamp === undefined) {
      await this.step('delete', () => this.deps.jobs.delete(id.namespace, id.name, id.uid));
    }
    this.deps.logger.error({ jobId: id.jobId, run: id.run, namespace: id.namespace, job: id.name, reason }, 'job logs released unarchived');
    return { kind: 'released' };
  }

  /** An ArchiveFailed observation while retrying (before or after the deadline with "hold"). */
  reportFailure(job: JobLike, reason: string): Promise<void> {
    const id = identify(job);
    return this.deps.observations.publish(this.observation(id, { archiveFailed: { reason, released: false, retrying: true } }));
  }

  private get deleteJob(): boolean {
    return this.deps.options?.deleteJob ?? true;
  }

  private observation(id: JobIdentity, body: Pick<Observation, 'logsArchived' | 'archiveFailed'>): Observation {
    return { jobId: id.jobId, run: id.run, observedAt: this.deps.clock(), source: ObservationSource, ...body };
  }

  /** A manifest of this very Job (same uid) whose objects are all present with their sizes. */
  private async existingManifest(key: string, id: JobIdentity): Promise<RunManifest | undefined> {
    if (!(await this.deps.store.stat(key))) return undefined;
    let data: Buffer;
    try {
      data = await readAll(await this.deps.store.read(key));
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    const manifest = parseManifest(data);
    if (!manifest || manifest.jobUid !== id.uid) return undefined;
    for (const object of manifest.objects) {
      const stored = await this.deps.store.stat(object.key);
      if (!stored || stored.bytes !== object.bytes) return undefined;
    }
    return manifest;
  }

  private async archiveLogs(
    job: JobLike,
    id: JobIdentity,
    run: RunRef,
    fresh: boolean,
    signal?: AbortSignal,
  ): Promise<{ objects: ManifestObject[]; missing: ManifestMissingLog[] }> {
    const { store, layout, pods } = this.deps;
    const [podList, secrets] = await this.step('inspect', async () => {
      if (!fresh) await store.abortIncomplete(layout.runPrefix(run));
      return Promise.all([pods.listForJob(id.namespace, id.name, id.uid), this.secretValues(job, id)]);
    });
    const plan = planArchive(job, podList);
    const objects: ManifestObject[] = [];
    const missing: ManifestMissingLog[] = [...plan.missing];
    if (secrets === 'unavailable') {
      for (const t of plan.targets) {
        missing.push({ index: t.index, pod: t.pod, container: t.container, previous: t.previous, reason: MissingReasons.redactionUnavailable });
      }
      return { objects, missing };
    }
    await this.step('archive', () =>
      forEachLimit(plan.targets, this.deps.options?.logConcurrency ?? 4, async (target) => {
        signal?.throwIfAborted();
        const archive = () => this.archiveOne(run, id, target, secrets, signal);
        const result = await (this.deps.streamSlots ? this.deps.streamSlots.run(archive) : archive());
        if ('sha256' in result) {
          objects.push(result);
          this.deps.onLogArchived?.(result);
        } else {
          missing.push(result);
        }
      }),
    );
    return { objects, missing };
  }

  private async archiveOne(
    run: RunRef,
    id: JobIdentity,
    target: LogTarget,
    secrets: readonly string[],
    signal?: AbortSignal,
  ): Promise<ManifestObject | ManifestMissingLog> {
    const key = this.deps.layout.logKey(run, target);
    const marker = (error: LogReadError): ManifestMissingLog => ({
      index: target.index,
      pod: target.pod,
      container: target.container,
      previous: target.previous,
      reason: target.previous && error.reason !== MissingReasons.podGone ? MissingReasons.previousUnavailable : error.reason,
      detail: error.message,
    });
    let source: Readable;
    try {
      source = await this.deps.pods.openLog(id.namespace, target.pod, target.container, target.previous);
    } catch (error) {
      if (error instanceof LogReadError && error.definitive) return marker(error);
      throw error;
    }
    const redactor = new SecretRedactor({ secrets, ...(this.deps.options?.replacement ? { replacement: this.deps.options.replacement } : {}) });
    const digest = new LogDigest();
    source.once('error', (error) => redactor.destroy(error));
    redactor.once('error', (error) => digest.destroy(error));
    source.pipe(redactor).pipe(digest);
    try {
      await this.deps.store.put(key, digest, signal ? { signal } : {});
    } catch (error) {
      source.destroy();
      if (error instanceof LogReadError && error.definitive) return marker(error);
      throw error;
    }
    const d = digest.result();
    return {
      key,
      index: target.index,
      pod: target.pod,
      podUid: target.podUid,
      container: target.container,
      containerType: target.containerType,
      previous: target.previous,
      complete: !target.running,
      bytes: d.bytes,
      lines: d.lines,
      sha256: d.sha256,
      redactions: redactor.replacements,
    };
  }

  /**
   * The values to redact: the job's own Secret. 'unavailable' when the pod template uses that
   * Secret but it is gone (logs are then not archived rather than archived unredacted).
   */
  private async secretValues(job: JobLike, id: JobIdentity): Promise<string[] | 'unavailable'> {
    if (!(this.deps.options?.redact ?? true)) return [];
    const name = secretNameOf(id.name);
    const values = await this.deps.secrets.values(id.namespace, name);
    if (values === undefined) {
      const referenced = JSON.stringify(job.spec?.template ?? {}).includes(`"${name}"`);
      return referenced ? 'unavailable' : [];
    }
    const min = this.deps.options?.minSecretLength ?? 4;
    const usable = values.filter((v) => v.length >= min);
    if (usable.length < values.filter((v) => v.length > 0).length) {
      this.deps.logger.warn(
        { jobId: id.jobId, run: id.run, namespace: id.namespace, skipped: values.length - usable.length, minSecretLength: min },
        'secret values too short to redact',
      );
    }
    return usable;
  }

  /** True when the Job is gone. Conflicts re-read the Job and retry while the finalizer is on. */
  private async removeFinalizer(job: JobLike, id: JobIdentity, annotations: Record<string, string>): Promise<boolean> {
    let current: JobLike | undefined = job;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!current) return true;
      if (current.metadata?.uid !== id.uid) return true;
      if (!hasArchiveFinalizer(current)) return false;
      const result = await this.deps.jobs.removeFinalizer(current, ArchiveFinalizer, annotations);
      if (result === 'removed') return false;
      if (result === 'gone') return true;
      current = await this.deps.jobs.get(id.namespace, id.name);
    }
    throw new Error('the Job kept changing while its finalizer was being removed');
  }

  private async step<T>(step: ProcedureStep, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof StepFailedError) throw error;
      throw new StepFailedError(step, error);
    }
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** Runs `fn` over `items` with at most `limit` at once; the first failure stops new starts. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
