import {
  JobSpec,
  taskStateToJSON,
  type JobEvent,
  workflowStateToJSON,
  type Workflow,
} from '@wharf/contracts';
import { parseDocument } from 'yaml';
import { shortState, toSeenEvent, type SeenEvent } from './event-kinds';
import type { JobCase, Scenario, WorkflowCase } from './scenario';
import { decide, matchValue, SequenceMatcher, type ExpectedStep } from './sequence-matcher';
import { ApiError, type WharfApi } from './wharf-api';

export interface RunOptions {
  readonly api: WharfApi;
  /** Unique per run of the runner: part of every idempotency key. */
  readonly runId: string;
  /** Used where a spec names none. */
  readonly namespace: string;
  readonly queue: string;
  /** Milliseconds clock. @default Date.now */
  readonly now?: () => number;
  /** Consecutive reconnects of a dropped watch stream before giving up. @default 5 */
  readonly maxReconnects?: number;
  /** First delay before reconnecting a dropped stream; doubles each time. @default 200 */
  readonly reconnectDelayMs?: number;
}

export interface JobOutcome {
  readonly name: string;
  readonly jobId: string;
  readonly passed: boolean;
  readonly problems: readonly string[];
  /** Why it is waiting, when the expected sequence did not complete. */
  readonly explanation: readonly string[];
  readonly expected: readonly ExpectedStep[];
  readonly seen: readonly SeenEvent[];
  /** Sequence numbers of the events that matched a step. */
  readonly matched: readonly number[];
  /** The job's state after its last event (short form), if any event came. */
  readonly state?: string;
  /** From the submit to the `finished` event. */
  readonly durationMs?: number;
}

export interface WorkflowOutcome {
  readonly name: string;
  readonly workflowId: string;
  readonly passed: boolean;
  readonly problems: readonly string[];
  readonly state?: string;
  readonly tasks: readonly {
    readonly name: string;
    readonly state: string;
    readonly jobId: string;
  }[];
  readonly taskJobs: readonly JobOutcome[];
  readonly durationMs?: number;
}

export interface ScenarioOutcome {
  readonly scenario: Scenario;
  readonly passed: boolean;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly jobs: readonly JobOutcome[];
  readonly workflows: readonly WorkflowOutcome[];
}

/**
 * `<scenario>-<name>-<run id>`, cut to a DNS label of at most 63 characters: unique per run,
 * readable in `wharf list`.
 */
export function idempotencyKey(scenario: string, name: string, runId: string): string {
  const head = `${scenario}-${name}`.slice(0, 62 - runId.length).replace(/-+$/, '');
  return `${head}-${runId}`;
}

/** The workflow text with namespace and queue set when it names none. */
export function withWorkflowDefaults(
  text: string,
  defaults: { namespace: string; queue: string },
): string {
  const doc = parseDocument(text);
  let changed = false;
  for (const key of ['namespace', 'queue'] as const) {
    if (!doc.get(key)) {
      doc.set(key, defaults[key]);
      changed = true;
    }
  }
  return changed ? doc.toString() : text;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Reads a resumable stream until `onMessage` says stop or `signal` aborts: a stream that drops
 * (UNAVAILABLE, or ends while more is expected) is reopened after the last sequence seen, with a
 * short backoff, up to `reconnect.max` times in a row. `endedMeansDone`: whether a stream that ends
 * by itself means done (WatchWorkflow ends when the workflow has ended). Thrown: ApiError.
 */
async function follow<M>(
  open: (after: number, signal: AbortSignal) => AsyncIterable<M>,
  onMessage: (message: M) => { sequence: number; stop: boolean },
  signal: AbortSignal,
  reconnect: { readonly max: number; readonly delayMs: number },
  endedMeansDone: boolean,
): Promise<void> {
  let after = 0;
  let failures = 0;
  while (!signal.aborted) {
    const attempt = new AbortController();
    const stopAttempt = () => attempt.abort();
    signal.addEventListener('abort', stopAttempt, { once: true });
    let reason = 'the stream ended';
    try {
      for await (const m of open(after, attempt.signal)) {
        failures = 0;
        const { sequence, stop } = onMessage(m);
        after = Math.max(after, sequence);
        if (stop) return;
      }
      if (endedMeansDone) return;
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 14 /* UNAVAILABLE */) throw error;
      reason = error.message;
    } finally {
      attempt.abort();
      signal.removeEventListener('abort', stopAttempt);
    }
    if (signal.aborted) return;
    failures++;
    if (failures > reconnect.max) {
      throw new ApiError(`gave up after ${reconnect.max} reconnects: ${reason}`, undefined);
    }
    await abortable(Math.min(5_000, reconnect.delayMs * 2 ** (failures - 1)), signal);
  }
}

interface WatchedJob {
  readonly matcher: SequenceMatcher;
  finished?: SeenEvent;
  last?: SeenEvent;
  cancelled: boolean;
  readonly problems: string[];
}

/** Follows one job's events (from the first) until `decide` says stop or the signal aborts. */
async function watchJobEvents(
  api: WharfApi,
  jobId: string,
  expected: readonly ExpectedStep[],
  options: {
    readonly signal: AbortSignal;
    /** When the event happened, in ms since the scenario started. */
    readonly clock: (event: JobEvent) => number;
    readonly reconnect: Context['reconnect'];
    readonly cancel?: JobCase['cancel'];
  },
): Promise<WatchedJob> {
  const watched: WatchedJob = {
    matcher: new SequenceMatcher(expected),
    cancelled: false,
    problems: [],
  };
  const cancels: Promise<void>[] = [];
  const cancel = options.cancel;
  try {
    await follow(
      (after, signal) => api.watchJob(jobId, after, signal),
      (response) => {
        const event = response.event;
        if (!event) return { sequence: 0, stop: false }; // heartbeat
        const seen = toSeenEvent(event, options.clock(event));
        if (!seen) return { sequence: event.sequence, stop: false };
        watched.matcher.push(seen);
        watched.last = seen;
        if (seen.kind === 'finished') watched.finished = seen;
        if (
          cancel &&
          !watched.cancelled &&
          seen.kind === cancel.after.kind &&
          (!cancel.after.fields || matchValue(cancel.after.fields, seen.payload) === undefined)
        ) {
          watched.cancelled = true;
          cancels.push(
            api.cancelJob(jobId, cancel.reason).then(
              () => undefined,
              (error: unknown) =>
                void watched.problems.push(
                  `CancelJob after ${seen.kind} failed: ${message(error)}`,
                ),
            ),
          );
        }
        return {
          sequence: seen.sequence,
          stop: decide(watched.matcher, watched.finished !== undefined) === 'stop',
        };
      },
      options.signal,
      options.reconnect,
      false,
    );
  } catch (error) {
    watched.problems.push(`WatchJob failed: ${message(error)}`);
  }
  await Promise.all(cancels);
  if (cancel && !watched.cancelled)
    watched.problems.push(`never cancelled: no ${cancel.after.kind} event matched cancel.after`);
  return watched;
}

function judgeJob(
  name: string,
  jobId: string,
  watched: WatchedJob,
  expectedState: string | undefined,
  timedOut: () => string | undefined,
  startedAtMs: number,
): JobOutcome {
  const problems = [...watched.problems];
  const { matcher, finished } = watched;
  if (!finished) {
    const late = timedOut();
    if (late)
      problems.push(
        `${late} before the job finished (state ${watched.last?.state ?? 'unknown: no event seen'})`,
      );
  }
  if (!matcher.complete) {
    const late = finished ? timedOut() : undefined;
    problems.push(
      `expected events did not all come${late ? ` (${late})` : finished ? ' (the job finished)' : ''}`,
    );
  }
  if (finished && expectedState && finished.state !== expectedState) {
    const reason = typeof finished.payload['reason'] === 'string' ? finished.payload['reason'] : '';
    problems.push(
      `final state ${finished.state}${reason ? ` (${reason})` : ''}, expected ${expectedState}`,
    );
  }
  return {
    name,
    jobId,
    passed: problems.length === 0,
    problems,
    explanation: matcher.complete ? [] : matcher.explain(),
    expected: matcher.steps,
    seen: matcher.seen,
    matched: matcher.matchedEvents.map((e) => e.sequence),
    ...(watched.last ? { state: watched.last.state } : {}),
    ...(finished ? { durationMs: finished.atMs - startedAtMs } : {}),
  };
}

async function runJob(job: JobCase, scenario: Scenario, ctx: Context): Promise<JobOutcome> {
  const jobId = idempotencyKey(scenario.name, job.name, ctx.options.runId);
  const spec: JobSpec = {
    ...job.spec,
    name: job.spec.name || job.name,
    namespace: job.spec.namespace || ctx.options.namespace,
    queue: job.spec.queue || ctx.options.queue,
  };
  const startedAt = ctx.elapsed();
  try {
    await ctx.options.api.submitJob({ spec, idempotencyKey: jobId });
  } catch (error) {
    return {
      name: job.name,
      jobId,
      passed: false,
      problems: [`SubmitJob failed: ${message(error)}`],
      explanation: [],
      expected: job.expect.events,
      seen: [],
      matched: [],
    };
  }
  const watched = await watchJobEvents(ctx.options.api, jobId, job.expect.events, {
    signal: ctx.signal,
    clock: () => ctx.elapsed(),
    reconnect: ctx.reconnect,
    ...(job.cancel ? { cancel: job.cancel } : {}),
  });
  if (!watched.finished && ctx.signal.aborted)
    await ctx.cleanUp(() => ctx.options.api.cancelJob(jobId, leftOver));
  return judgeJob(job.name, jobId, watched, job.expect.state, ctx.timedOut, startedAt);
}

const leftOver = 'e2e: the scenario timed out';

const terminalWorkflowStates = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const workflowState = (w: Pick<Workflow, 'state'>) =>
  shortState(workflowStateToJSON(w.state), 'WORKFLOW_STATE_');

async function runWorkflow(
  wf: WorkflowCase,
  scenario: Scenario,
  ctx: Context,
): Promise<WorkflowOutcome> {
  const { api } = ctx.options;
  const workflowId = idempotencyKey(scenario.name, wf.name, ctx.options.runId);
  const startedAt = ctx.elapsed();
  const fail = (problems: string[], extra: Partial<WorkflowOutcome> = {}): WorkflowOutcome => ({
    name: wf.name,
    workflowId,
    passed: problems.length === 0,
    problems,
    tasks: [],
    taskJobs: [],
    ...extra,
  });
  try {
    await api.submitWorkflow({
      text: withWorkflowDefaults(wf.text, ctx.options),
      spec: undefined,
      idempotencyKey: workflowId,
      dryRun: false,
    });
  } catch (error) {
    return fail([`SubmitWorkflow failed: ${message(error)}`]);
  }
  const problems: string[] = [];
  let endedAt: number | undefined;
  let lastState = 'PENDING';
  try {
    await follow(
      (after, signal) => api.watchWorkflow(workflowId, after, signal),
      (response) => {
        const event = response.event;
        if (!event) return { sequence: 0, stop: false };
        lastState = workflowState(event);
        const done = terminalWorkflowStates.has(lastState);
        if (done && endedAt === undefined) endedAt = ctx.elapsed();
        return { sequence: event.sequence, stop: done };
      },
      ctx.signal,
      ctx.reconnect,
      true,
    );
  } catch (error) {
    problems.push(`WatchWorkflow failed: ${message(error)}`);
  }
  let workflow: Workflow | undefined;
  try {
    workflow = await api.getWorkflow(workflowId);
  } catch (error) {
    problems.push(`GetWorkflow failed: ${message(error)}`);
  }
  const state = workflow ? workflowState(workflow) : lastState;
  if (!terminalWorkflowStates.has(state)) {
    if (ctx.signal.aborted) await ctx.cleanUp(() => api.cancelWorkflow(workflowId, leftOver));
    problems.push(
      `${ctx.timedOut() ?? 'the watch ended'} before the workflow ended (state ${state})`,
    );
  } else if (state !== wf.expect.state) {
    problems.push(
      `final state ${state}${workflow?.message ? ` (${workflow.message})` : ''}, expected ${wf.expect.state}`,
    );
  }
  const tasks = (workflow?.tasks ?? []).map((t) => ({
    name: t.name,
    state: shortState(taskStateToJSON(t.state), 'TASK_STATE_'),
    jobId: t.jobId,
    outputJson: t.outputJson,
    message: t.message,
  }));
  const taskJobs: JobOutcome[] = [];
  for (const [name, expect] of Object.entries(wf.expect.tasks)) {
    const task = tasks.find((t) => t.name === name);
    if (!task) {
      problems.push(`task ${name}: not in the workflow's status`);
      continue;
    }
    if (expect.state && task.state !== expect.state) {
      problems.push(
        `task ${name}: state ${task.state}${task.message ? ` (${task.message})` : ''}, expected ${expect.state}`,
      );
    }
    if (expect.output !== undefined) {
      let output: unknown;
      try {
        output = task.outputJson === '' ? undefined : JSON.parse(task.outputJson);
      } catch {
        problems.push(`task ${name}: output is not JSON: ${task.outputJson}`);
      }
      const miss = matchValue(expect.output, output as never, 'output');
      if (miss) problems.push(`task ${name}: ${miss}`);
    }
    if (expect.events) {
      if (!task.jobId) {
        problems.push(`task ${name}: has no job, so no events (state ${task.state})`);
        continue;
      }
      // Replayed after the workflow ended: timed by the events' own times.
      const watched = await watchJobEvents(api, task.jobId, expect.events, {
        signal: ctx.signal,
        clock: (event) => (event.time ? event.time.getTime() - ctx.startEpochMs : ctx.elapsed()),
        reconnect: ctx.reconnect,
      });
      const outcome = judgeJob(
        `task ${name}`,
        task.jobId,
        watched,
        undefined,
        ctx.timedOut,
        startedAt,
      );
      taskJobs.push(outcome);
      if (!outcome.passed)
        problems.push(`task ${name}: its job ${task.jobId} did not show the expected events`);
    }
  }
  return fail(problems, {
    state,
    tasks: tasks.map(({ name, state: s, jobId }) => ({ name, state: s, jobId })),
    taskJobs,
    ...(endedAt !== undefined ? { durationMs: endedAt - startedAt } : {}),
  });
}

interface Context {
  readonly options: RunOptions;
  readonly signal: AbortSignal;
  readonly elapsed: () => number;
  /** The wall-clock time the scenario started (to time events by their own timestamps). */
  readonly startEpochMs: number;
  readonly reconnect: { readonly max: number; readonly delayMs: number };
  /** `timed out after 90 s` once the scenario's timeout has passed, else undefined. */
  readonly timedOut: () => string | undefined;
  /** Best effort: cancels what a timed-out scenario left running, so it does not linger. */
  readonly cleanUp: (cancel: () => Promise<unknown>) => Promise<void>;
}

/**
 * Runs one scenario: submits its jobs and workflows at once (each with a fresh idempotency
 * key), follows each job's events and each workflow to its end, and judges them against the
 * expectations. Everything stops at the scenario's timeout.
 */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions,
): Promise<ScenarioOutcome> {
  const now = options.now ?? Date.now;
  const start = now();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), scenario.timeoutMs);
  const ctx: Context = {
    options,
    signal: deadline.signal,
    elapsed: () => now() - start,
    startEpochMs: Date.now(),
    reconnect: { max: options.maxReconnects ?? 5, delayMs: options.reconnectDelayMs ?? 200 },
    cleanUp: (cancel) =>
      cancel().then(
        () => undefined,
        () => undefined,
      ),
    timedOut: () =>
      deadline.signal.aborted ? `timed out after ${scenario.timeoutMs / 1000} s` : undefined,
  };
  try {
    const [jobs, workflows] = await Promise.all([
      Promise.all(scenario.jobs.map((job) => runJob(job, scenario, ctx))),
      Promise.all(scenario.workflows.map((wf) => runWorkflow(wf, scenario, ctx))),
    ]);
    return {
      scenario,
      passed: jobs.every((j) => j.passed) && workflows.every((w) => w.passed),
      durationMs: now() - start,
      timedOut: deadline.signal.aborted,
      jobs,
      workflows,
    };
  } finally {
    clearTimeout(timer);
  }
}
