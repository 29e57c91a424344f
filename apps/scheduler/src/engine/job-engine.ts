import type { JobEvent, JobRecord, LaunchCommand, Observation, SubmitJobRequest } from '@wharf/contracts';
import {
  AlreadyExistsError,
  describeError,
  InvalidArgumentError,
  isRetriable,
  NotLeaderError,
  retry,
  UnavailableError,
  type Logger,
} from '@wharf/platform';
import { reduce, SpecConflict, type Transition } from '../domain/job-reducer';
import { decideAdmissions } from '../domain/queue-admission';
import type { Limits, QueueConfig } from '../domain/queue-config';
import { validateSubmit, type SpecLimits } from '../domain/spec-validator';
import type { EventHub } from '../state/event-hub';
import type { JobStore } from '../state/job-store';
import type { StateLog } from '../state/state-log';

export interface JobEngineOptions {
  readonly store: JobStore;
  readonly hub: EventHub;
  readonly log: StateLog;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly queues: readonly QueueConfig[];
  readonly capacity: Limits;
  readonly specLimits: SpecLimits;
  /** Operations committed per transaction at most. @default 1_000 */
  readonly maxBatch?: number;
  /** @default 500 */
  readonly maxAdmissionsPerCycle?: number;
  /** Finished jobs are removed from the changelog this long after they finished. */
  readonly retentionMs: number;
  /** Replay wharf.job-events into the hub when taking over. @default true */
  readonly restoreEvents?: boolean;
  /** Called once when a newer writer fenced this one. */
  readonly onFenced?: () => void;
}

/** The outcome of a submit: the job, and whether this call created it. */
export interface SubmitOutcome {
  readonly record: JobRecord;
  readonly created: boolean;
}

/** Reads and writes of one batch: the committed store plus what earlier operations changed. */
class BatchView {
  readonly overlay = new Map<string, JobRecord | null>();
  readonly events: JobEvent[] = [];
  readonly commands: { jobId: string; command: LaunchCommand }[] = [];

  constructor(private readonly store: JobStore) {}

  get(jobId: string): JobRecord | undefined {
    if (this.overlay.has(jobId)) return this.overlay.get(jobId) ?? undefined;
    return this.store.get(jobId);
  }

  apply(t: Transition | undefined): void {
    if (!t?.changed) return;
    this.overlay.set(t.record.jobId, t.record);
    this.events.push(...t.events);
    for (const command of t.commands) this.commands.push({ jobId: t.record.jobId, command });
  }

  remove(jobId: string): void {
    this.overlay.set(jobId, null);
  }
}

interface Operation {
  readonly apply: (view: BatchView, now: Date) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The single writer. Every change of a job (submit, admission, cancel, observation, expiry)
 * is an operation run against the current state; operations are committed in batches (group
 * commit): one Kafka transaction holds the new records, their events and launch commands, and
 * only after it committed does the in-memory store change and callers get their answer.
 * Batches run one at a time, so an operation always sees every earlier one.
 */
export class JobEngine {
  private readonly waiting: Operation[] = [];
  private draining = false;
  private active = false;
  private opening: Promise<void> | undefined;
  private dirty = true;

  constructor(private readonly options: JobEngineOptions) {}

  get queues(): readonly QueueConfig[] {
    return this.options.queues;
  }

  isActive(): boolean {
    return this.active;
  }

  /** Becomes the writer: fences older writers, restores the state, then accepts operations. */
  activate(): Promise<void> {
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<void> {
    const { log, store, hub, logger } = this.options;
    const started = Date.now();
    await log.open();
    store.clear();
    hub.clear();
    const records = await log.readRecords((jobId, record) => (record ? store.put(record) : store.remove(jobId)));
    let events = 0;
    if (this.options.restoreEvents ?? true) {
      events = await log.readEvents((event, position) => {
        if (store.get(event.jobId)) hub.publish({ event, position });
      });
    }
    this.active = true;
    this.dirty = true;
    logger.info({ records, jobs: store.size, events, ms: Date.now() - started }, 'state restored; accepting writes');
  }

  /** Stops writing; queued operations fail with NotLeaderError. */
  async deactivate(): Promise<void> {
    this.active = false;
    await this.opening?.catch(() => undefined);
    for (const op of this.waiting.splice(0)) op.reject(new NotLeaderError('this scheduler is not the leader'));
    await this.options.log.close();
  }

  /** Validates and stores a submit. Thrown: InvalidArgumentError, AlreadyExistsError, NotLeaderError, UnavailableError. */
  submit(tenant: string, request: SubmitJobRequest): Promise<SubmitOutcome> {
    const queue = this.options.queues.find((q) => q.name === request.spec?.queue);
    const result = validateSubmit(request, queue, this.options.specLimits);
    if (!result.ok) return Promise.reject(new InvalidArgumentError('invalid job', result.violations));
    const { jobId, specHash, spec } = result.value;
    return this.run((view, now) => {
      const existing = view.get(jobId);
      if (existing && existing.tenant !== tenant) {
        throw new AlreadyExistsError(`job id '${jobId}' is already taken; choose another idempotency key`);
      }
      let t: Transition | undefined;
      try {
        t = reduce(existing, { kind: 'submit', jobId, tenant, spec, specHash }, now);
      } catch (error) {
        if (error instanceof SpecConflict) throw new AlreadyExistsError(error.message, { context: { jobId } });
        throw error;
      }
      view.apply(t);
      return { record: t?.record, created: existing === undefined } as SubmitOutcome;
    }) as Promise<SubmitOutcome>;
  }

  /** Cancels a job (authorization is the caller's). Resolves with the job after the change. */
  cancel(jobId: string, reason: string): Promise<JobRecord | undefined> {
    return this.run((view, now) => {
      const t = reduce(view.get(jobId), { kind: 'cancel', reason }, now);
      view.apply(t);
      return t?.record;
    }) as Promise<JobRecord | undefined>;
  }

  /** Applies an observation from job-launcher or log-archiver; unknown jobs are ignored. */
  observe(observation: Observation): Promise<void> {
    return this.run((view, now) => {
      view.apply(reduce(view.get(observation.jobId), { kind: 'observe', observation }, now));
    }) as Promise<void>;
  }

  /** One admission cycle; resolves with the number of runs launched. */
  admissionCycle(): Promise<number> {
    if (!this.active) return Promise.resolve(0);
    const { store, queues, capacity } = this.options;
    const now = this.options.now();
    const due = store.dueRelaunches(now);
    if (!this.dirty && due.length === 0) return Promise.resolve(0);
    this.dirty = false;
    return this.run((view, at) => {
      let launched = 0;
      for (const jobId of due) {
        const t = reduce(view.get(jobId), { kind: 'relaunch' }, at);
        if (t?.changed) launched++;
        view.apply(t);
      }
      const snapshot = store.snapshot(queues, capacity, this.options.maxAdmissionsPerCycle ?? 500);
      const decision = decideAdmissions(snapshot, at);
      for (const { jobId } of decision.admitted) {
        const t = reduce(view.get(jobId), { kind: 'admit' }, at);
        if (t?.changed) launched++;
        view.apply(t);
      }
      // A full cycle may leave more to admit next time.
      if (decision.admitted.length >= (this.options.maxAdmissionsPerCycle ?? 500)) this.dirty = true;
      return launched;
    }) as Promise<number>;
  }

  /** Removes finished jobs past their retention (tombstones in the changelog). */
  expire(): Promise<number> {
    if (!this.active) return Promise.resolve(0);
    const ids = this.options.store.expired(this.options.now(), this.options.retentionMs, 1_000);
    if (ids.length === 0) return Promise.resolve(0);
    return this.run((view) => {
      for (const id of ids) view.remove(id);
      return ids.length;
    }) as Promise<number>;
  }

  private run(apply: Operation['apply']): Promise<unknown> {
    if (!this.active) return Promise.reject(new NotLeaderError('this scheduler is not the leader; retry against the leader'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ apply, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const ops = this.waiting.splice(0, this.options.maxBatch ?? 1_000);
        await this.commitBatch(ops);
      }
    } finally {
      this.draining = false;
    }
  }

  private async commitBatch(ops: Operation[]): Promise<void> {
    const { store, hub, log, logger } = this.options;
    if (!this.active) {
      for (const op of ops) op.reject(new NotLeaderError('this scheduler is not the leader; retry against the leader'));
      return;
    }
    const now = this.options.now();
    const view = new BatchView(store);
    const outcomes = ops.map((op) => {
      try {
        return { ok: true as const, value: op.apply(view, now) };
      } catch (error) {
        return { ok: false as const, error };
      }
    });
    if (view.overlay.size > 0) {
      const batch = {
        records: [...view.overlay].map(([jobId, record]) => ({ jobId, record })),
        events: view.events,
        commands: view.commands,
      };
      let positions;
      try {
        positions = await retry(() => log.commit(batch), {
          retries: 3,
          minDelayMs: 100,
          shouldRetry: (e) => isRetriable(e) && !(e instanceof NotLeaderError),
        });
      } catch (error) {
        const fenced = error instanceof NotLeaderError;
        logger.error({ err: describeError(error), records: batch.records.length }, 'state commit failed');
        const failure = fenced
          ? new NotLeaderError('this scheduler was replaced by a newer leader; retry against the leader', { cause: error })
          : new UnavailableError('could not store the change durably; retry', { cause: error });
        for (const op of ops) op.reject(failure);
        if (fenced && this.active) {
          this.active = false;
          this.options.onFenced?.();
        }
        return;
      }
      for (const [jobId, record] of view.overlay) {
        if (record) store.put(record);
        else {
          store.remove(jobId);
          hub.forget(jobId);
        }
      }
      view.events.forEach((event, i) => hub.publish({ event, position: positions[i] ?? { partition: -1, offset: '-1' } }));
      this.dirty = true;
    }
    ops.forEach((op, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) op.resolve(outcome.value);
      else op.reject(outcome?.error);
    });
  }
}
