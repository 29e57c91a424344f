/**
 * The job and run state machine as a pure reducer: (record, input, now) → (record, events,
 * launch commands). Every transition of a job goes through `reduce`; the engine persists the
 * result (record, events and commands in one Kafka transaction) before anyone sees it.
 *
 * # Job states
 *
 *   QUEUED ──admit──▶ ADMITTED ──run started──▶ RUNNING ──run succeeded──▶ SUCCEEDED
 *     │                 │  ▲                      │ └──run failed (user)──▶ FAILED
 *     │                 │  └──run failed (infra), attempts left: run N+1 after backoff
 *     │                 └──────────── cancel ─────┴──▶ cancel_requested … CancelRun
 *     └── cancel ──▶ CANCELLED ◀── run cancelled (confirmed by job-launcher)
 *
 * - Terminal states (SUCCEEDED, FAILED, CANCELLED) absorb every later input: a late cancel or a
 *   duplicated observation changes nothing.
 * - Observations are idempotent: each names job, run and (for indexes) index, and only moves a
 *   run forward (PENDING → CREATED → RUNNING → terminal). A duplicate or a stale one (for an
 *   older run, or a step already passed) is ignored, so reordering is harmless too.
 * - Infrastructure failures (the launcher rejected the run as unavailable, the Job was lost)
 *   retry as run N+1 while `retry.max_attempts` allows, after `backoff_seconds × 2^(N-1)`;
 *   user failures (failed indexes, deadline, fail-fast exit codes) fail the job.
 */
import {
  JobState,
  RunState,
  type IndexCounts,
  type JobEvent,
  type JobRecord,
  type JobSpec,
  type LaunchCommand,
  type Observation,
  type Run,
} from '@wharf/contracts';
import { kubeJobName } from './job-identity';

export type JobInput =
  | {
      readonly kind: 'submit';
      readonly jobId: string;
      readonly tenant: string;
      readonly spec: JobSpec;
      readonly specHash: string;
      /** Set when a workflow runs this job as one of its tasks. */
      readonly workflowId?: string;
      readonly taskName?: string;
    }
  | { readonly kind: 'admit' }
  | { readonly kind: 'relaunch' }
  | { readonly kind: 'cancel'; readonly reason: string }
  | { readonly kind: 'observe'; readonly observation: Observation };

/** A JobEvent without the fields the reducer fills in (job id, sequence, time, tenant, queue, state, run). */
export type EventBody = Omit<JobEvent, 'jobId' | 'sequence' | 'time' | 'tenant' | 'queue' | 'state' | 'run'>;

export interface Transition {
  /** The new record; the same object as the input when nothing changed. */
  readonly record: JobRecord;
  readonly events: readonly JobEvent[];
  readonly commands: readonly LaunchCommand[];
  readonly changed: boolean;
}

/** Run failure reasons that are the platform's fault, not the user's: retried as a new run. */
export const infrastructureReasons: ReadonlySet<string> = new Set([
  'JobLost',
  'PodLost',
  'NodeLost',
  'Evicted',
  'LaunchFailed',
  'Unavailable',
  'Capacity',
]);

export const terminalJobStates: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_CANCELLED,
]);

const terminalRunStates: ReadonlySet<RunState> = new Set([
  RunState.RUN_STATE_SUCCEEDED,
  RunState.RUN_STATE_FAILED,
  RunState.RUN_STATE_CANCELLED,
  RunState.RUN_STATE_REJECTED,
]);

const runProgress: Readonly<Record<number, number>> = {
  [RunState.RUN_STATE_PENDING]: 1,
  [RunState.RUN_STATE_CREATED]: 2,
  [RunState.RUN_STATE_RUNNING]: 3,
};

export function isTerminal(state: JobState): boolean {
  return terminalJobStates.has(state);
}

export function isRunTerminal(state: RunState): boolean {
  return terminalRunStates.has(state);
}

/** Thrown by `reduce` for a submit that reuses a job id with another spec. */
export class SpecConflict extends Error {
  override readonly name = 'SpecConflict';
}

const unchanged = (record: JobRecord): Transition => ({ record, events: [], commands: [], changed: false });

/** Delay before run `nextRun` (2, 3, …) after an infrastructure failure. */
export function retryDelayMs(spec: JobSpec | undefined, nextRun: number): number {
  const base = Math.max(0, spec?.retry?.backoffSeconds ?? 10);
  return Math.min(3_600, base * 2 ** Math.max(0, nextRun - 2)) * 1000;
}

class Builder {
  record: JobRecord;
  readonly events: JobEvent[] = [];
  readonly commands: LaunchCommand[] = [];

  constructor(
    readonly original: JobRecord,
    readonly now: Date,
  ) {
    this.record = { ...original, runs: [...original.runs] };
  }

  set(patch: Partial<JobRecord>): void {
    this.record = { ...this.record, ...patch };
  }

  setRun(number: number, patch: Partial<Run>): Run {
    const index = number - 1;
    const run = { ...(this.record.runs[index] as Run), ...patch };
    this.record.runs[index] = run;
    return run;
  }

  emit(body: EventBody, run = this.record.runs.length): void {
    const sequence = this.record.sequence + 1;
    this.record = { ...this.record, sequence };
    this.events.push({
      jobId: this.record.jobId,
      sequence,
      time: this.now,
      tenant: this.record.tenant,
      queue: this.record.spec?.queue ?? '',
      state: this.record.state,
      run,
      ...body,
    });
  }

  finish(state: JobState, reason: string, message: string): void {
    this.set({ state, reason, message, finishedAt: this.now });
    this.emit({ finished: { state, reason, message } });
  }

  done(): Transition {
    const changed = this.events.length > 0 || this.commands.length > 0 || this.touched;
    if (!changed) return unchanged(this.original);
    return { record: { ...this.record, updatedAt: this.now }, events: this.events, commands: this.commands, changed: true };
  }

  touched = false;
}

/** A new run of the job, with its LaunchRun. */
function launchRun(b: Builder): void {
  const number = b.record.runs.length + 1;
  const jobName = kubeJobName(b.record.jobId, number);
  b.record.runs.push({
    number,
    state: RunState.RUN_STATE_PENDING,
    jobName,
    launchedAt: b.now,
    startedAt: undefined,
    finishedAt: undefined,
    indexes: { total: Math.max(1, b.record.spec?.items.length ?? 0), succeeded: 0, failed: 0, active: 0 },
    results: [],
    reason: '',
    message: '',
    logsManifest: '',
    logsLost: false,
  });
  b.set({ state: JobState.JOB_STATE_ADMITTED, notBefore: undefined, admittedAt: b.record.admittedAt ?? b.now });
  b.emit({ admitted: { jobName } }, number);
  b.commands.push({
    launch: {
      jobId: b.record.jobId,
      run: number,
      tenant: b.record.tenant,
      spec: b.record.spec,
      specHash: b.record.specHash,
      admittedAt: b.now,
      workflowId: b.record.workflowId,
      taskName: b.record.taskName,
    },
  });
}

/** Ends the current run; fails or retries the job. */
function endRun(
  b: Builder,
  run: Run,
  state: RunState,
  reason: string,
  message: string,
  counts: IndexCounts | undefined,
): void {
  b.setRun(run.number, { state, reason, message, finishedAt: b.now, indexes: counts ?? run.indexes });
  const maxAttempts = Math.max(1, b.record.spec?.retry?.maxAttempts ?? 1);
  const cancelling = b.record.cancelRequested;
  const infra = state !== RunState.RUN_STATE_SUCCEEDED && infrastructureReasons.has(reason);
  const willRetry = !cancelling && infra && run.number < maxAttempts;
  if (willRetry) {
    b.set({
      state: JobState.JOB_STATE_ADMITTED,
      notBefore: new Date(b.now.getTime() + retryDelayMs(b.record.spec, run.number + 1)),
    });
  }
  b.emit({ runFinished: { state, reason, message, counts: counts ?? run.indexes, willRetry } }, run.number);
  if (willRetry) return;
  if (state === RunState.RUN_STATE_SUCCEEDED) b.finish(JobState.JOB_STATE_SUCCEEDED, reason || 'Succeeded', message);
  else if (cancelling || state === RunState.RUN_STATE_CANCELLED) {
    b.finish(JobState.JOB_STATE_CANCELLED, 'Cancelled', b.record.message || message);
  } else b.finish(JobState.JOB_STATE_FAILED, reason || 'Failed', message);
}

function observe(b: Builder, observation: Observation): void {
  const runNumber = observation.run;
  const run = b.record.runs[runNumber - 1];
  if (!run) return; // an observation of a run we never launched: ignore

  // Logs may be archived after the job ended; they are facts about any run.
  if (observation.logsArchived) {
    if (run.logsManifest !== '') return;
    const o = observation.logsArchived;
    b.setRun(runNumber, { logsManifest: o.manifest, logsLost: false });
    b.emit({ logsArchived: { manifest: o.manifest, objects: o.objects, bytes: o.bytes, missing: o.missing } }, runNumber);
    return;
  }
  if (observation.archiveFailed) {
    if (observation.archiveFailed.released && !run.logsLost && run.logsManifest === '') {
      b.setRun(runNumber, { logsLost: true });
      b.touched = true;
    }
    return;
  }
  if (isTerminal(b.record.state) || isRunTerminal(run.state)) return;
  const isCurrent = runNumber === b.record.runs.length;
  if (!isCurrent) return;

  if (observation.created) {
    if ((runProgress[run.state] ?? 0) >= (runProgress[RunState.RUN_STATE_CREATED] ?? 0)) return;
    b.setRun(runNumber, { state: RunState.RUN_STATE_CREATED, jobName: observation.created.jobName || run.jobName });
    b.emit({ runCreated: { jobName: observation.created.jobName || run.jobName, namespace: observation.created.namespace } }, runNumber);
    return;
  }
  if (observation.started) {
    if (run.state === RunState.RUN_STATE_RUNNING) return;
    b.setRun(runNumber, { state: RunState.RUN_STATE_RUNNING, startedAt: observation.observedAt ?? b.now });
    b.set({ state: JobState.JOB_STATE_RUNNING });
    b.emit({ runStarted: {} }, runNumber);
    return;
  }
  if (observation.index?.result) {
    const result = observation.index.result;
    const previous = run.results.find((r) => r.index === result.index);
    if (previous && (previous.succeeded || !result.succeeded)) return; // known; a success is final
    const results = [...run.results.filter((r) => r.index !== result.index), result].sort((x, y) => x.index - y.index);
    const base = run.indexes ?? { total: 1, succeeded: 0, failed: 0, active: 0 };
    const counts: IndexCounts = {
      total: base.total,
      succeeded: results.filter((r) => r.succeeded).length,
      failed: results.filter((r) => !r.succeeded).length,
      active: base.active,
    };
    b.setRun(runNumber, { results, indexes: counts });
    b.emit({ indexFinished: { result, counts } }, runNumber);
    return;
  }
  if (observation.finished) {
    const o = observation.finished;
    endRun(
      b,
      run,
      o.succeeded ? RunState.RUN_STATE_SUCCEEDED : RunState.RUN_STATE_FAILED,
      o.reason,
      o.message,
      o.counts,
    );
    return;
  }
  if (observation.rejected) {
    const o = observation.rejected;
    const details = o.violations.map((v) => `${v.field}: ${v.description}`).join('; ');
    endRun(b, run, RunState.RUN_STATE_REJECTED, o.reason || 'Rejected', details, undefined);
    return;
  }
  if (observation.cancelled) {
    endRun(b, run, RunState.RUN_STATE_CANCELLED, 'Cancelled', observation.cancelled.reason, undefined);
  }
}

/** The record a submit creates. */
export function newRecord(input: Extract<JobInput, { kind: 'submit' }>, now: Date): JobRecord {
  return {
    jobId: input.jobId,
    tenant: input.tenant,
    spec: input.spec,
    specHash: input.specHash,
    state: JobState.JOB_STATE_QUEUED,
    runs: [],
    sequence: 0,
    cancelRequested: false,
    reason: '',
    message: '',
    createdAt: now,
    updatedAt: now,
    admittedAt: undefined,
    finishedAt: undefined,
    workflowId: input.workflowId ?? '',
    taskName: input.taskName ?? '',
    notBefore: undefined,
  };
}

/**
 * Applies one input. `record` is undefined for a job that does not exist; only a submit
 * creates one (other inputs on a missing job return undefined).
 *
 * Thrown: {@link SpecConflict} when a submit reuses an existing job id with a different spec.
 */
export function reduce(record: JobRecord | undefined, input: JobInput, now: Date): Transition | undefined {
  if (input.kind === 'submit') {
    if (record) {
      if (record.specHash !== input.specHash) {
        throw new SpecConflict(
          `job '${input.jobId}' already exists with a different spec; use a new idempotency key (or name) for a different job`,
        );
      }
      return unchanged(record);
    }
    const created = newRecord(input, now);
    const b = new Builder(created, now);
    b.emit({ submitted: { spec: redactSpec(input.spec) } }, 0);
    const t = b.done();
    return { ...t, record: { ...t.record, updatedAt: now } };
  }
  if (!record) return undefined;
  const b = new Builder(record, now);
  switch (input.kind) {
    case 'admit':
      if (record.state !== JobState.JOB_STATE_QUEUED) return unchanged(record);
      launchRun(b);
      break;
    case 'relaunch': {
      const last = record.runs[record.runs.length - 1];
      const due = record.notBefore === undefined || record.notBefore.getTime() <= now.getTime();
      if (record.state !== JobState.JOB_STATE_ADMITTED || !last || !isRunTerminal(last.state) || !due) {
        return unchanged(record);
      }
      launchRun(b);
      break;
    }
    case 'cancel': {
      if (isTerminal(record.state) || record.cancelRequested) return unchanged(record);
      const last = record.runs[record.runs.length - 1];
      const reason = input.reason || 'cancelled by request';
      b.set({ cancelRequested: true, message: reason });
      b.emit({ cancelRequested: { reason } });
      if (record.state === JobState.JOB_STATE_QUEUED || !last || isRunTerminal(last.state)) {
        b.finish(JobState.JOB_STATE_CANCELLED, 'Cancelled', reason);
      } else {
        b.commands.push({ cancel: { jobId: record.jobId, run: last.number, reason } });
      }
      break;
    }
    case 'observe':
      observe(b, input.observation);
      break;
  }
  return b.done();
}

/** The spec without inline secret values: what events, replies and the API show. */
export function redactSpec(spec: JobSpec | undefined): JobSpec | undefined {
  if (!spec) return spec;
  if (!spec.secrets.some((s) => s.value !== undefined)) return spec;
  return {
    ...spec,
    secrets: spec.secrets.map((s) => (s.value !== undefined ? { env: s.env, value: '[redacted]' } : s)),
  };
}
