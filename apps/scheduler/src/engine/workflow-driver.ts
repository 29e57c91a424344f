import { JobState, TaskState, type JobRecord, type Workflow, type WorkflowEvent } from '@wharf/contracts';
import { isTerminal, reduce, SpecConflict, type Transition } from '../domain/job-reducer';
import type { SecretSealer } from '@wharf/platform';
import type { QueueConfig } from '../domain/queue-config';
import { sealJobSpec } from '../domain/secret-sealing';
import { validateSubmit, type SpecLimits } from '../domain/spec-validator';
import {
  isWorkflowDone,
  reduceWorkflow,
  resumeWorkflow,
  type WorkflowAction,
  type WorkflowProgressEvent,
} from '../workflows/workflow-reducer';
import { defaultWorkflowLimits, type WorkflowLimits } from '../workflows/workflow-schema';

/** The part of one engine batch the driver reads and changes (jobs and workflows together). */
export interface WorkflowBatch {
  getJob(jobId: string): JobRecord | undefined;
  applyJob(t: Transition | undefined): void;
  /** Ids of the jobs this batch changed so far, including those the driver changes. */
  changedJobIds(): readonly string[];
  getWorkflow(workflowId: string): Workflow | undefined;
  putWorkflow(workflow: Workflow): void;
  addWorkflowEvent(event: WorkflowEvent): void;
}

export interface WorkflowDriverOptions {
  readonly queues: readonly QueueConfig[];
  readonly specLimits: SpecLimits;
  readonly limits?: WorkflowLimits;
  /** Seals the inline secret values of task jobs (none: stored as rendered). */
  readonly sealer?: SecretSealer;
}

interface Pending {
  readonly workflowId: string;
  readonly event: WorkflowProgressEvent;
}

/** A finished task job as the workflow reducer's event; undefined while the job still runs. */
export function taskJobOutcome(job: JobRecord): Extract<WorkflowProgressEvent, { type: 'task-job-finished' }> | undefined {
  if (!isTerminal(job.state)) return undefined;
  const run = job.runs[job.runs.length - 1];
  const outcome = job.state === JobState.JOB_STATE_SUCCEEDED ? 'succeeded' : job.state === JobState.JOB_STATE_FAILED ? 'failed' : 'cancelled';
  const message = job.message || [run?.reason, run?.message].filter(Boolean).join(': ');
  return { type: 'task-job-finished', jobId: job.jobId, outcome, results: run?.results ?? [], message };
}

/**
 * Runs workflows inside the job engine's batches: a workflow's step (start, a task's job
 * ended, cancel, timeout) and the jobs it submits or cancels are committed in the same
 * transaction, so after a crash the workflow record and its task jobs always agree, and a
 * finished task is never run again (its job id is deterministic and its state is stored).
 */
export class WorkflowDriver {
  private readonly limits: WorkflowLimits;

  constructor(private readonly options: WorkflowDriverOptions) {
    this.limits = options.limits ?? defaultWorkflowLimits;
  }

  /** Applies `event` to a workflow of the batch, then everything it causes. */
  async advance(batch: WorkflowBatch, workflowId: string, event: WorkflowProgressEvent, now: Date): Promise<void> {
    await this.drain(batch, [{ workflowId, event }], now);
  }

  /** After a restart: re-applies a workflow's idempotent actions (submit running tasks again, or cancel them). */
  async resume(batch: WorkflowBatch, workflowId: string, now: Date): Promise<void> {
    const workflow = batch.getWorkflow(workflowId);
    if (!workflow || isWorkflowDone(workflow.state)) return;
    const t = await resumeWorkflow(workflow, now, this.limits);
    if (t.workflow !== workflow) batch.putWorkflow(t.workflow);
    const pending: Pending[] = [];
    this.execute(batch, t.workflow, t.actions, pending, now);
    await this.drain(batch, pending, now);
  }

  /** Feeds every task job this batch finished to its workflow, until nothing more follows. */
  async settle(batch: WorkflowBatch, now: Date): Promise<void> {
    await this.drain(batch, [], now);
  }

  private async drain(batch: WorkflowBatch, pending: Pending[], now: Date): Promise<void> {
    const fed = new Set<string>();
    for (;;) {
      const next = pending.shift() ?? this.finishedTaskJob(batch, fed);
      if (!next) return;
      const workflow = batch.getWorkflow(next.workflowId);
      if (!workflow) continue;
      const t = await reduceWorkflow(workflow, next.event, now, this.limits);
      if (t.workflow === workflow) continue;
      batch.putWorkflow(t.workflow);
      this.execute(batch, t.workflow, t.actions, pending, now);
    }
  }

  /** A task job of this batch that ended while its task still runs, as an event; each once. */
  private finishedTaskJob(batch: WorkflowBatch, fed: Set<string>): Pending | undefined {
    for (const jobId of batch.changedJobIds()) {
      if (fed.has(jobId)) continue;
      const job = batch.getJob(jobId);
      if (!job?.workflowId) continue;
      const event = taskJobOutcome(job);
      if (!event) continue;
      const workflow = batch.getWorkflow(job.workflowId);
      const running = workflow?.tasks.some((t) => t.jobId === jobId && t.state === TaskState.TASK_STATE_RUNNING);
      if (!running) continue;
      fed.add(jobId);
      return { workflowId: job.workflowId, event };
    }
    return undefined;
  }

  private execute(batch: WorkflowBatch, workflow: Workflow, actions: readonly WorkflowAction[], pending: Pending[], now: Date): void {
    const fail = (jobId: string, message: string): void => {
      pending.push({ workflowId: workflow.workflowId, event: { type: 'task-job-finished', jobId, outcome: 'failed', results: [], message } });
    };
    for (const action of actions) {
      switch (action.type) {
        case 'publish-event':
          batch.addWorkflowEvent(action.event);
          break;
        case 'cancel-job':
          batch.applyJob(reduce(batch.getJob(action.jobId), { kind: 'cancel', reason: workflow.message || 'workflow cancelled' }, now));
          break;
        case 'submit-job': {
          const queue = this.options.queues.find((q) => q.name === action.spec.queue);
          const spec = sealJobSpec(action.spec, this.options.sealer);
          const checked = validateSubmit({ spec, idempotencyKey: action.jobId }, queue, this.options.specLimits);
          if (!checked.ok) {
            fail(action.jobId, `its job is invalid: ${checked.violations.map((v) => `${v.field}: ${v.description}`).join('; ')}`);
            break;
          }
          const existing = batch.getJob(action.jobId);
          try {
            const t = reduce(
              existing,
              {
                kind: 'submit',
                jobId: action.jobId,
                tenant: workflow.tenant,
                spec: checked.value.spec,
                specHash: checked.value.specHash,
                workflowId: workflow.workflowId,
                taskName: action.task,
              },
              now,
            );
            batch.applyJob(t);
          } catch (error) {
            if (!(error instanceof SpecConflict)) throw error;
            fail(action.jobId, `job '${action.jobId}' exists with a different spec`);
            break;
          }
          // Resumed after a restart: the job may have ended already.
          const ended = existing && taskJobOutcome(existing);
          if (ended) pending.push({ workflowId: workflow.workflowId, event: ended });
          break;
        }
        case 'finish-workflow':
          break;
      }
    }
  }
}
