import {
  TaskState,
  WorkflowState,
  type IndexResult,
  type JobSpec,
  type TaskSpec,
  type TaskStatus,
  type Workflow,
  type WorkflowEvent,
  type WorkflowSpec,
} from '@wharf/contracts';
import { isFanOut, renderTaskJob, resolveItems } from './task-renderer';
import { defaultWorkflowLimits, type WorkflowLimits } from './workflow-schema';
import { evaluateCondition, type TaskScope, type TemplateScope } from './workflow-template';

/**
 * Workflow progression: a pure function `(workflow, event, now) → (workflow', actions)`.
 *
 * The state is the `wharf.v1.Workflow` record itself (the value of `wharf.workflows.state`), so
 * what is stored is all a restarted scheduler needs; {@link resumeWorkflow} gives the idempotent
 * actions to re-apply after a restart. Rules:
 *
 * - A task starts when every `dependsOn` task SUCCEEDED and its `when` is true, within the
 *   workflow `parallelism` (running tasks, finally included; 0 = unlimited), in spec order.
 * - `when` false → SKIPPED. A task whose upstream was SKIPPED, FAILED or CANCELLED is SKIPPED
 *   too (so a skip propagates to every dependent).
 * - A FAILED task fails the workflow: no new task starts (the waiting ones are SKIPPED), running
 *   ones finish, then the finally tasks run.
 * - Timeout (a `timer` event at or after `createdAt + timeoutSeconds`, while regular tasks
 *   remain): running tasks are cancelled, waiting ones SKIPPED, then finally tasks run; the
 *   workflow ends FAILED. The timeout does not apply to finally tasks (their jobs' own
 *   activeDeadlineSeconds does).
 * - Cancel: running tasks are cancelled, every waiting task (finally included) is CANCELLED;
 *   the workflow ends CANCELLED once the running jobs confirmed.
 * - Finally tasks run after every regular task ended, whatever the outcome (except cancel);
 *   among themselves they follow their own `dependsOn`. A failed finally task fails the workflow.
 * - Restart-safe: events for tasks that already ended, or for jobs the workflow does not run,
 *   change nothing; an ended task is never submitted again; job ids are deterministic.
 */

export type WorkflowProgressEvent =
  /** The workflow was accepted and durably stored: start it. */
  | { readonly type: 'submitted' }
  /** A task's job ended (job state SUCCEEDED / FAILED / CANCELLED), with its per-index results. */
  | {
      readonly type: 'task-job-finished';
      readonly jobId: string;
      readonly outcome: 'succeeded' | 'failed' | 'cancelled';
      readonly results: readonly IndexResult[];
      readonly message?: string;
    }
  | { readonly type: 'cancel-requested'; readonly reason: string }
  /** Time passed: checks the timeout (see {@link workflowDeadline}). */
  | { readonly type: 'timer' };

export type WorkflowAction =
  /** Submit the task's job (idempotent: the id is deterministic, the spec the same). */
  | { readonly type: 'submit-job'; readonly task: string; readonly jobId: string; readonly spec: JobSpec }
  | { readonly type: 'cancel-job'; readonly task: string; readonly jobId: string }
  /** Publish on wharf.workflow-events (key: workflow id); `sequence` orders them. */
  | { readonly type: 'publish-event'; readonly event: WorkflowEvent }
  | { readonly type: 'finish-workflow'; readonly state: WorkflowState; readonly message: string };

export interface WorkflowTransition {
  readonly workflow: Workflow;
  readonly actions: readonly WorkflowAction[];
}

export const WorkflowMessages = {
  timedOut: 'workflow timed out',
  cancelled: 'workflow cancelled',
  whenFalse: 'when condition is false',
  workflowFailed: 'not started: the workflow failed',
} as const;

const terminalTask: readonly TaskState[] = [
  TaskState.TASK_STATE_SUCCEEDED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_SKIPPED,
  TaskState.TASK_STATE_CANCELLED,
];
const terminalWorkflow: readonly WorkflowState[] = [
  WorkflowState.WORKFLOW_STATE_SUCCEEDED,
  WorkflowState.WORKFLOW_STATE_FAILED,
  WorkflowState.WORKFLOW_STATE_CANCELLED,
];

export const isTaskDone = (s: TaskState): boolean => terminalTask.includes(s);
export const isWorkflowDone = (s: WorkflowState): boolean => terminalWorkflow.includes(s);

const statusNames: Record<number, string> = {
  [TaskState.TASK_STATE_WAITING]: 'Waiting',
  [TaskState.TASK_STATE_RUNNING]: 'Running',
  [TaskState.TASK_STATE_SUCCEEDED]: 'Succeeded',
  [TaskState.TASK_STATE_FAILED]: 'Failed',
  [TaskState.TASK_STATE_SKIPPED]: 'Skipped',
  [TaskState.TASK_STATE_CANCELLED]: 'Cancelled',
};

/** A new workflow record, PENDING, every task WAITING. Store it, then reduce `submitted`. */
export function newWorkflow(args: {
  readonly workflowId: string;
  readonly tenant: string;
  readonly spec: WorkflowSpec;
  readonly specHash: string;
  readonly now: Date;
}): Workflow {
  return {
    workflowId: args.workflowId,
    tenant: args.tenant,
    spec: args.spec,
    state: WorkflowState.WORKFLOW_STATE_PENDING,
    tasks: [...args.spec.tasks, ...args.spec.finally].map((t) => ({
      name: t.name,
      state: TaskState.TASK_STATE_WAITING,
      jobId: '',
      message: '',
      outputJson: '',
    })),
    sequence: 0,
    message: '',
    createdAt: args.now,
    cancelRequested: false,
    specHash: args.specHash,
  };
}

/** When the next `timer` event is due (the timeout), or undefined. */
export function workflowDeadline(workflow: Workflow): Date | undefined {
  const timeout = workflow.spec?.timeoutSeconds ?? 0;
  if (!timeout || !workflow.createdAt || isWorkflowDone(workflow.state) || isTimedOut(workflow)) return undefined;
  return new Date(workflow.createdAt.getTime() + timeout * 1000);
}

export function isTimedOut(workflow: Workflow): boolean {
  return workflow.message === WorkflowMessages.timedOut;
}

/** The task spec and whether it is a finally task. */
function taskSpecs(spec: WorkflowSpec): Map<string, { spec: TaskSpec; final: boolean }> {
  const map = new Map<string, { spec: TaskSpec; final: boolean }>();
  for (const t of spec.tasks) map.set(t.name, { spec: t, final: false });
  for (const t of spec.finally) map.set(t.name, { spec: t, final: true });
  return map;
}

function parseOutput(json: string): unknown {
  if (json === '') return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** Templates and conditions see this; workflow.status is the regular tasks' outcome. */
export function workflowScope(workflow: Workflow): TemplateScope {
  const spec = workflow.spec;
  const specs = spec ? taskSpecs(spec) : new Map<string, { spec: TaskSpec; final: boolean }>();
  const tasks: Record<string, TaskScope> = {};
  for (const t of workflow.tasks) {
    const s = specs.get(t.name);
    tasks[t.name] = { status: statusNames[t.state] ?? 'Unknown', output: parseOutput(t.outputJson), fanOut: s ? isFanOut(s.spec) : false };
  }
  const regular = workflow.tasks.filter((t) => !specs.get(t.name)?.final);
  const status = regular.some((t) => t.state === TaskState.TASK_STATE_FAILED) || isTimedOut(workflow)
    ? 'Failed'
    : regular.every((t) => isTaskDone(t.state))
      ? 'Succeeded'
      : 'Running';
  return {
    params: spec?.parameters ?? {},
    tasks,
    workflow: { id: workflow.workflowId, name: spec?.name ?? '', namespace: spec?.namespace ?? '', status },
  };
}

/** Mutable working copy of one transition. */
class Draft {
  readonly actions: WorkflowAction[] = [];
  readonly specs: Map<string, { spec: TaskSpec; final: boolean }>;

  constructor(
    readonly wf: Workflow,
    readonly now: Date,
    readonly limits: WorkflowLimits,
  ) {
    this.specs = taskSpecs(wf.spec ?? ({ tasks: [], finally: [] } as unknown as WorkflowSpec));
  }

  status(name: string): TaskStatus | undefined {
    return this.wf.tasks.find((t) => t.name === name);
  }

  emit(task?: TaskStatus, message = ''): void {
    this.wf.sequence += 1;
    this.actions.push({
      type: 'publish-event',
      event: {
        workflowId: this.wf.workflowId,
        sequence: this.wf.sequence,
        time: this.now,
        state: this.wf.state,
        ...(task ? { task: { ...task } } : {}),
        message: message || (task ? task.message : this.wf.message),
      },
    });
  }

  setTask(task: TaskStatus, state: TaskState, message: string, extra: Partial<TaskStatus> = {}): void {
    task.state = state;
    task.message = message;
    Object.assign(task, extra);
    if (isTaskDone(state)) task.finishedAt = this.now;
    this.emit(task);
  }
}

function copy(workflow: Workflow): Workflow {
  return structuredClone(workflow);
}

/** Applies one event. Never mutates `workflow`. */
export async function reduceWorkflow(
  workflow: Workflow,
  event: WorkflowProgressEvent,
  now: Date,
  limits: WorkflowLimits = defaultWorkflowLimits,
): Promise<WorkflowTransition> {
  if (isWorkflowDone(workflow.state)) return { workflow, actions: [] };
  const d = new Draft(copy(workflow), now, limits);
  const wf = d.wf;
  switch (event.type) {
    case 'submitted': {
      if (wf.state !== WorkflowState.WORKFLOW_STATE_PENDING) return { workflow, actions: [] };
      wf.state = WorkflowState.WORKFLOW_STATE_RUNNING;
      wf.createdAt ??= now;
      d.emit();
      break;
    }
    case 'task-job-finished': {
      const task = wf.tasks.find((t) => t.jobId === event.jobId && t.state === TaskState.TASK_STATE_RUNNING);
      if (!task) return { workflow, actions: [] };
      finishTask(d, task, event);
      break;
    }
    case 'cancel-requested': {
      if (wf.cancelRequested) return { workflow, actions: [] };
      wf.cancelRequested = true;
      if (!isTimedOut(wf)) wf.message = event.reason ? `${WorkflowMessages.cancelled}: ${event.reason}` : WorkflowMessages.cancelled;
      for (const t of wf.tasks) {
        if (t.state === TaskState.TASK_STATE_RUNNING) d.actions.push({ type: 'cancel-job', task: t.name, jobId: t.jobId });
      }
      d.emit();
      break;
    }
    case 'timer': {
      const deadline = workflowDeadline(wf);
      if (!deadline || now < deadline || wf.state !== WorkflowState.WORKFLOW_STATE_RUNNING) return { workflow, actions: [] };
      const regular = wf.tasks.filter((t) => !d.specs.get(t.name)?.final);
      if (regular.every((t) => isTaskDone(t.state))) return { workflow, actions: [] };
      wf.message = WorkflowMessages.timedOut;
      for (const t of regular) {
        if (t.state === TaskState.TASK_STATE_RUNNING) d.actions.push({ type: 'cancel-job', task: t.name, jobId: t.jobId });
      }
      d.emit();
      break;
    }
  }
  await progress(d);
  return { workflow: wf, actions: d.actions };
}

function finishTask(d: Draft, task: TaskStatus, event: Extract<WorkflowProgressEvent, { type: 'task-job-finished' }>): void {
  if (event.outcome === 'cancelled') {
    d.setTask(task, TaskState.TASK_STATE_CANCELLED, event.message || 'job cancelled');
    return;
  }
  if (event.outcome === 'failed') {
    d.setTask(task, TaskState.TASK_STATE_FAILED, event.message || 'job failed');
    return;
  }
  const spec = d.specs.get(task.name)?.spec;
  let outputJson = '';
  if (spec && isFanOut(spec)) {
    const withOutput = event.results.filter((r) => r.outputJson !== '');
    if (withOutput.length) {
      const size = Math.max(...event.results.map((r) => r.index)) + 1;
      const list: unknown[] = Array.from({ length: size }, () => null);
      for (const r of withOutput) list[r.index] = parseOutput(r.outputJson) ?? null;
      outputJson = JSON.stringify(list);
    }
  } else {
    const result = event.results.find((r) => r.index === 0) ?? event.results[0];
    const value = parseOutput(result?.outputJson ?? '');
    outputJson = value === undefined ? '' : JSON.stringify(value);
  }
  if (Buffer.byteLength(outputJson, 'utf8') > d.limits.maxTaskOutputBytes) {
    d.setTask(task, TaskState.TASK_STATE_FAILED, `task output larger than ${d.limits.maxTaskOutputBytes} bytes`);
    return;
  }
  d.setTask(task, TaskState.TASK_STATE_SUCCEEDED, event.message ?? '', { outputJson });
}

async function startTask(d: Draft, task: TaskStatus, spec: TaskSpec): Promise<void> {
  const wf = d.wf;
  const scope = workflowScope(wf);
  let when: boolean;
  try {
    when = await evaluateCondition(spec.when, scope, d.now);
  } catch (error) {
    d.setTask(task, TaskState.TASK_STATE_FAILED, `when condition failed: ${(error as Error).message}`);
    return;
  }
  if (!when) {
    d.setTask(task, TaskState.TASK_STATE_SKIPPED, WorkflowMessages.whenFalse);
    return;
  }
  const resolved = resolveItems(spec, scope);
  if ('error' in resolved) {
    d.setTask(task, TaskState.TASK_STATE_FAILED, resolved.error);
    return;
  }
  if (resolved.items.length > d.limits.maxFanOut) {
    d.setTask(task, TaskState.TASK_STATE_FAILED, `fan-out of ${resolved.items.length} items exceeds ${d.limits.maxFanOut}`);
    return;
  }
  if (isFanOut(spec) && resolved.items.length === 0) {
    d.setTask(task, TaskState.TASK_STATE_SUCCEEDED, 'fan-out over an empty list', { outputJson: '[]', startedAt: d.now });
    return;
  }
  const rendered = renderTaskJob(wf.workflowId, wf.spec as WorkflowSpec, spec, scope, resolved.items);
  d.setTask(task, TaskState.TASK_STATE_RUNNING, '', { jobId: rendered.jobId, startedAt: d.now });
  d.actions.push({ type: 'submit-job', task: spec.name, jobId: rendered.jobId, spec: rendered.spec });
}

const blocking: readonly TaskState[] = [TaskState.TASK_STATE_SKIPPED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELLED];

/** Starts, skips and finishes what the current state allows, until nothing changes. */
async function progress(d: Draft): Promise<void> {
  const wf = d.wf;
  for (;;) {
    const before = wf.sequence;
    const regular = wf.tasks.filter((t) => !d.specs.get(t.name)?.final);
    const final = wf.tasks.filter((t) => d.specs.get(t.name)?.final);
    const failed = regular.some((t) => t.state === TaskState.TASK_STATE_FAILED);
    const running = () => wf.tasks.filter((t) => t.state === TaskState.TASK_STATE_RUNNING).length;
    const limit = wf.spec?.parallelism ?? 0;

    const visit = async (tasks: TaskStatus[], stop: { state: TaskState; message: string } | undefined) => {
      for (const task of tasks) {
        if (task.state !== TaskState.TASK_STATE_WAITING) continue;
        if (stop) {
          d.setTask(task, stop.state, stop.message);
          continue;
        }
        if (wf.state !== WorkflowState.WORKFLOW_STATE_RUNNING) continue;
        const spec = d.specs.get(task.name)?.spec;
        if (!spec) continue;
        const deps = spec.dependsOn.map((n) => d.status(n));
        if (deps.some((dep) => dep && !isTaskDone(dep.state))) continue;
        const blocked = deps.find((dep) => dep && blocking.includes(dep.state));
        if (blocked) {
          d.setTask(task, TaskState.TASK_STATE_SKIPPED, `upstream task "${blocked.name}" ${statusNames[blocked.state]?.toLowerCase() ?? 'ended'}`);
          continue;
        }
        if (limit > 0 && running() >= limit) continue;
        await startTask(d, task, spec);
        // A failed start (bad withParam, condition error) fails the workflow: re-evaluate.
        if ((task.state as TaskState) === TaskState.TASK_STATE_FAILED && !d.specs.get(task.name)?.final) return;
      }
    };

    if (wf.cancelRequested) {
      await visit(regular, { state: TaskState.TASK_STATE_CANCELLED, message: WorkflowMessages.cancelled });
      await visit(final, { state: TaskState.TASK_STATE_CANCELLED, message: WorkflowMessages.cancelled });
    } else {
      const stop = isTimedOut(wf)
        ? { state: TaskState.TASK_STATE_SKIPPED, message: WorkflowMessages.timedOut }
        : failed
          ? { state: TaskState.TASK_STATE_SKIPPED, message: WorkflowMessages.workflowFailed }
          : undefined;
      await visit(regular, stop);
      if (regular.every((t) => isTaskDone(t.state))) await visit(final, undefined);
    }
    if (wf.sequence === before) break;
  }
  if (wf.tasks.every((t) => isTaskDone(t.state)) && !isWorkflowDone(wf.state)) finishWorkflow(d);
}

function finishWorkflow(d: Draft): void {
  const wf = d.wf;
  const failedTask = wf.tasks.find((t) => t.state === TaskState.TASK_STATE_FAILED);
  if (wf.cancelRequested) wf.state = WorkflowState.WORKFLOW_STATE_CANCELLED;
  else if (isTimedOut(wf)) wf.state = WorkflowState.WORKFLOW_STATE_FAILED;
  else if (failedTask) {
    wf.state = WorkflowState.WORKFLOW_STATE_FAILED;
    wf.message = `task "${failedTask.name}" failed${failedTask.message ? `: ${failedTask.message}` : ''}`;
  } else wf.state = WorkflowState.WORKFLOW_STATE_SUCCEEDED;
  wf.finishedAt = d.now;
  d.emit();
  d.actions.push({ type: 'finish-workflow', state: wf.state, message: wf.message });
}

/**
 * After a restart (state restored from wharf.workflows.state): the actions that may not have
 * been applied before the crash, all idempotent — submit (same id, same spec) for running
 * tasks, or cancel them when the workflow is stopping. A PENDING workflow is started.
 * The caller stores the returned workflow if it changed (it does only for PENDING).
 */
export async function resumeWorkflow(
  workflow: Workflow,
  now: Date,
  limits: WorkflowLimits = defaultWorkflowLimits,
): Promise<WorkflowTransition> {
  if (workflow.state === WorkflowState.WORKFLOW_STATE_PENDING) return reduceWorkflow(workflow, { type: 'submitted' }, now, limits);
  if (isWorkflowDone(workflow.state) || !workflow.spec) return { workflow, actions: [] };
  const specs = taskSpecs(workflow.spec);
  const scope = workflowScope(workflow);
  const actions: WorkflowAction[] = [];
  for (const t of workflow.tasks) {
    if (t.state !== TaskState.TASK_STATE_RUNNING) continue;
    const s = specs.get(t.name);
    if (!s) continue;
    if (workflow.cancelRequested || (isTimedOut(workflow) && !s.final)) {
      actions.push({ type: 'cancel-job', task: t.name, jobId: t.jobId });
      continue;
    }
    const resolved = resolveItems(s.spec, scope);
    const items = 'items' in resolved ? resolved.items : [];
    const rendered = renderTaskJob(workflow.workflowId, workflow.spec, s.spec, scope, items);
    actions.push({ type: 'submit-job', task: t.name, jobId: rendered.jobId, spec: rendered.spec });
  }
  return { workflow, actions };
}
