import type { JobEvent, JobRecord, LaunchCommand, Observation, SubmitJobRequest, Workflow, WorkflowEvent, WorkflowSpec } from '@wharf/contracts';
import {
  AlreadyExistsError,
  describeError,
  InvalidArgumentError,
  isRetriable,
  NotLeaderError,
  retry,
  UnavailableError,
  type Logger,
  type SecretSealer,
} from '@wharf/platform';
import { reduce, SpecConflict, type Transition } from '../domain/job-reducer';
import { decideAdmissions } from '../domain/queue-admission';
import { sealSubmit, sealWorkflowSpec } from '../domain/secret-sealing';
import type { Limits, QueueConfig } from '../domain/queue-config';
import { validateSubmit, type SpecLimits } from '../domain/spec-validator';
import type { EventHub } from '../state/event-hub';
import type { JobStore } from '../state/job-store';
import type { StateLog } from '../state/state-log';
import { WorkflowStore } from '../state/workflow-store';
import { isWorkflowDone, newWorkflow, workflowDeadline } from '../workflows/workflow-reducer';
import type { WorkflowLimits } from '../workflows/workflow-schema';
import { WorkflowDriver, type WorkflowBatch } from './workflow-driver';

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
  /** The committed workflows (a fresh store when not given). */
  readonly workflows?: WorkflowStore;
  readonly workflowLimits?: WorkflowLimits;
  /** Seals inline secret values before they are stored (none: stored as sent). */
  readonly sealer?: SecretSealer;
}

/** The outcome of a submit: the job, and whether this call created it. */
export interface SubmitOutcome {
  readonly record: JobRecord;
  readonly created: boolean;
}

/** The outcome of a workflow submit. */
export interface WorkflowSubmitOutcome {
  readonly workflow: Workflow;
  readonly created: boolean;
}

/** Reads and writes of one batch: the committed stores plus what earlier operations changed. */
class BatchView implements WorkflowBatch {
  readonly overlay = new Map<string, JobRecord | null>();
  readonly events: JobEvent[] = [];
  readonly commands: { jobId: string; command: LaunchCommand }[] = [];
  readonly workflowOverlay = new Map<string, Workflow | null>();
  readonly workflowEvents: WorkflowEvent[] = [];

  constructor(
    private readonly store: JobStore,
    private readonly workflows: WorkflowStore,
  ) {}

  get changed(): boolean {
    return this.overlay.size > 0 || this.workflowOverlay.size > 0;
  }

  getJob(jobId: string): JobRecord | undefined {
    return this.get(jobId);
  }

  applyJob(t: Transition | undefined): void {
    this.apply(t);
  }

  changedJobIds(): readonly string[] {
    return [...this.overlay.keys()];
  }

  getWorkflow(workflowId: string): Workflow | undefined {
    if (this.workflowOverlay.has(workflowId)) return this.workflowOverlay.get(workflowId) ?? undefined;
    return this.workflows.get(workflowId);
  }

  putWorkflow(workflow: Workflow): void {
    this.workflowOverlay.set(workflow.workflowId, workflow);
  }

  removeWorkflow(workflowId: string): void {
    this.workflowOverlay.set(workflowId, null);
  }

  addWorkflowEvent(event: WorkflowEvent): void {
    this.workflowEvents.push(event);
  }

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
  readonly workflows: WorkflowStore;
  private readonly driver: WorkflowDriver;

  constructor(private readonly options: JobEngineOptions) {
    this.workflows = options.workflows ?? new WorkflowStore();
    this.driver = new WorkflowDriver({ queues: options.queues, specLimits: options.specLimits, limits: options.workflowLimits, sealer: options.sealer });
  }

  get queues(): readonly QueueConfig[] {
    return this.options.queues;
  }

  /** The limits every job is validated against, workflow task jobs included. */
  get specLimits(): SpecLimits {
    return this.options.specLimits;
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
    const workflows = this.workflows;
    workflows.clear();
    const records = log.readEncodedRecords
      ? await log.readEncodedRecords((jobId, encoded) => (encoded ? store.putEncoded(jobId, encoded.bytes, encoded.contentType) : store.remove(jobId)))
      : await log.readRecords((jobId, record) => (record ? store.put(record) : store.remove(jobId)));
    await log.readWorkflows((workflowId, record) => (record ? workflows.put(record) : workflows.remove(workflowId)));
    let events = 0;
    if (this.options.restoreEvents ?? true) {
      events = await log.readEvents((event, position) => {
        if (store.has(event.jobId)) hub.publish({ event, position });
      });
      await log.readWorkflowEvents((event) => {
        if (workflows.get(event.workflowId)) workflows.publish(event);
      });
    }
    this.active = true;
    this.dirty = true;
    logger.info({ records, jobs: store.size, workflows: workflows.size, events, ms: Date.now() - started }, 'state restored; accepting writes');
    // A step of a workflow may have been cut short by the crash: re-apply its idempotent actions.
    const unfinished = [...workflows.all()].filter((w) => !isWorkflowDone(w.state)).map((w) => w.workflowId);
    if (unfinished.length > 0) {
      void this.run(async (view, now) => {
        for (const workflowId of unfinished) await this.driver.resume(view, workflowId, now);
      }).catch((error: unknown) => logger.warn({ err: describeError(error) }, 'resuming workflows failed; they resume on the next takeover'));
    }
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
    const result = validateSubmit(sealSubmit(request, this.options.sealer), queue, this.options.specLimits);
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

  /**
   * Stores a new workflow and starts it (its first tasks are submitted in the same commit).
   * The spec was validated and authorized by the caller. An existing id with the same spec hash
   * answers the stored workflow; with another spec, AlreadyExistsError.
   */
  /** The spec with its literal secret values sealed, as it must be hashed and stored. */
  sealWorkflowSpec(spec: WorkflowSpec): WorkflowSpec {
    return sealWorkflowSpec(spec, this.options.sealer);
  }

  submitWorkflow(tenant: string, workflowId: string, spec: NonNullable<Workflow['spec']>, specHash: string): Promise<WorkflowSubmitOutcome> {
    return this.run(async (view, now) => {
      const existing = view.getWorkflow(workflowId);
      if (existing) {
        if (existing.tenant !== tenant || existing.specHash !== specHash) {
          throw new AlreadyExistsError(`workflow '${workflowId}' already exists with a different spec; use a new idempotency key`);
        }
        return { workflow: existing, created: false };
      }
      view.putWorkflow(newWorkflow({ workflowId, tenant, spec, specHash, now }));
      await this.driver.advance(view, workflowId, { type: 'submitted' }, now);
      return { workflow: view.getWorkflow(workflowId), created: true };
    }) as Promise<WorkflowSubmitOutcome>;
  }

  /** Cancels a workflow: its running tasks' jobs are cancelled, nothing new starts. */
  cancelWorkflow(workflowId: string, reason: string): Promise<Workflow | undefined> {
    return this.run(async (view, now) => {
      if (!view.getWorkflow(workflowId)) return undefined;
      await this.driver.advance(view, workflowId, { type: 'cancel-requested', reason }, now);
      return view.getWorkflow(workflowId);
    }) as Promise<Workflow | undefined>;
  }

  /** Times out the workflows past their deadline; resolves with how many were due. */
  workflowTimers(): Promise<number> {
    if (!this.active) return Promise.resolve(0);
    const now = this.options.now();
    const due = [...this.workflows.all()].filter((w) => {
      const deadline = workflowDeadline(w);
      return deadline !== undefined && deadline <= now;
    });
    if (due.length === 0) return Promise.resolve(0);
    return this.run(async (view, at) => {
      for (const w of due) await this.driver.advance(view, w.workflowId, { type: 'timer' }, at);
      return due.length;
    }) as Promise<number>;
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

  /** Removes finished jobs and workflows past their retention (tombstones in the changelogs). */
  expire(): Promise<number> {
    if (!this.active) return Promise.resolve(0);
    const now = this.options.now().getTime();
    const ids = this.options.store.expired(this.options.now(), this.options.retentionMs, 1_000);
    const workflowIds = [...this.workflows.all()]
      .filter((w) => isWorkflowDone(w.state) && w.finishedAt && w.finishedAt.getTime() + this.options.retentionMs <= now)
      .slice(0, 1_000)
      .map((w) => w.workflowId);
    if (ids.length === 0 && workflowIds.length === 0) return Promise.resolve(0);
    return this.run((view) => {
      for (const id of ids) view.remove(id);
      for (const id of workflowIds) view.removeWorkflow(id);
      return ids.length + workflowIds.length;
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
    const view = new BatchView(store, this.workflows);
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    for (const op of ops) {
      try {
        outcomes.push({ ok: true, value: await op.apply(view, now) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    try {
      // Task jobs this batch finished move their workflows on, in the same commit.
      await this.driver.settle(view, now);
    } catch (error) {
      logger.error({ err: describeError(error) }, 'workflow step failed; the batch is not committed');
      for (const op of ops) op.reject(error);
      return;
    }
    if (view.changed) {
      const batch = {
        records: [...view.overlay].map(([jobId, record]) => ({ jobId, record })),
        events: view.events,
        commands: view.commands,
        workflows: [...view.workflowOverlay].map(([workflowId, record]) => ({ workflowId, record })),
        workflowEvents: view.workflowEvents,
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
      for (const [workflowId, record] of view.workflowOverlay) {
        if (record) this.workflows.put(record);
        else this.workflows.remove(workflowId);
      }
      for (const event of view.workflowEvents) this.workflows.publish(event);
      this.dirty = true;
    }
    ops.forEach((op, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) op.resolve(outcome.value);
      else op.reject(outcome?.error);
    });
  }
}
