import type { ListWorkflowsResponse, Workflow, WorkflowEvent, WorkflowServiceService, WorkflowSpec } from '@wharf/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  type ServiceHandlers,
} from '@wharf/platform';
import type { JobEngine } from '../engine/job-engine';
import type { WorkflowStore } from '../state/workflow-store';
import {
  deriveWorkflowId,
  isValidWorkflowId,
  isWorkflowDone,
  newWorkflow,
  workflowSpecHash,
  workflowSpecOrThrow,
  type WorkflowLimits,
} from '../workflows';
import { authorizeSubmit } from './access-policy';
import { follow, pageOf } from './follow';

/** Checks the cluster objects a workflow names and dry-runs its jobs; throws FAILED_PRECONDITION. */
export type WorkflowPreflight = (workflowId: string, spec: WorkflowSpec) => Promise<void>;

export interface WorkflowServiceOptions {
  readonly engine: JobEngine;
  readonly workflows: WorkflowStore;
  readonly now: () => Date;
  readonly limits?: WorkflowLimits;
  /** Without one (no Kubernetes access), workflows are accepted without preflight. */
  readonly preflight?: WorkflowPreflight;
  /** @default 5_000 */
  readonly heartbeatMs?: number;
  /** @default 10_000 */
  readonly maxBufferedEvents?: number;
}

/** The public view of a workflow: inline secret values of task templates are not shown. */
export function toWorkflowView(workflow: Workflow): Workflow {
  const spec = workflow.spec;
  if (!spec) return workflow;
  const redact = (tasks: WorkflowSpec['tasks']) =>
    tasks.map((t) =>
      t.template && t.template.secrets.some((s) => s.value !== undefined)
        ? { ...t, template: { ...t.template, secrets: t.template.secrets.map((s) => (s.value !== undefined ? { env: s.env, value: '[redacted]' } : s)) } }
        : t,
    );
  return { ...workflow, spec: { ...spec, tasks: redact(spec.tasks), finally: redact(spec.finally) } };
}

export function authorizeWorkflow(tenant: string, workflow: Workflow | undefined, workflowId: string): Workflow {
  if (!workflow) throw new NotFoundError(`no workflow '${workflowId}'`);
  if (workflow.tenant !== tenant) throw new PermissionDeniedError(`workflow '${workflowId}' belongs to another tenant`);
  return workflow;
}

/** Validates, authorizes and preflights a submit; the workflow id and spec to store. */
export async function prepareWorkflowSubmit(
  options: Pick<WorkflowServiceOptions, 'engine' | 'limits' | 'preflight'>,
  tenant: string,
  request: { readonly spec?: WorkflowSpec | undefined; readonly text?: string | undefined; readonly idempotencyKey: string },
): Promise<{ workflowId: string; spec: WorkflowSpec; specHash: string }> {
  if (request.idempotencyKey !== '' && !isValidWorkflowId(request.idempotencyKey)) {
    throw new InvalidArgumentError('invalid idempotency key', [
      { field: 'idempotency_key', description: 'must be a DNS label: at most 63 lower-case letters, digits and "-"' },
    ]);
  }
  const spec = options.engine.sealWorkflowSpec(workflowSpecOrThrow(request, options.limits));
  // A withItems list becomes one job's items: refuse now what the task's job would fail on later.
  const maxItems = options.engine.specLimits?.maxItems;
  if (maxItems !== undefined) {
    const tooMany = [...spec.tasks.map((task, i) => ({ task, field: `tasks[${i}].withItems` })), ...spec.finally.map((task, i) => ({ task, field: `finally[${i}].withItems` }))]
      .filter(({ task }) => task.withItems.length > maxItems)
      .map(({ task, field }) => ({ field, description: `${task.withItems.length} items; a job of this scheduler has at most ${maxItems} (limits.maxItems)` }));
    if (tooMany.length > 0) throw new InvalidArgumentError('workflow spec is invalid', tooMany);
  }
  for (const task of [...spec.tasks, ...spec.finally]) {
    authorizeSubmit(tenant, task.template?.queue || spec.queue, task.template?.namespace || spec.namespace, options.engine.queues);
  }
  const workflowId = deriveWorkflowId(spec, request.idempotencyKey);
  await options.preflight?.(workflowId, spec);
  return { workflowId, spec, specHash: workflowSpecHash(spec) };
}

export function workflowServiceHandlers(options: WorkflowServiceOptions): ServiceHandlers<typeof WorkflowServiceService> {
  const { engine, workflows } = options;
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const maxBuffered = options.maxBufferedEvents ?? 10_000;

  return {
    async submitWorkflow(request, ctx) {
      const tenant = ctx.principal.tenant;
      const { workflowId, spec, specHash } = await prepareWorkflowSubmit(options, tenant, { ...request, spec: request.spec, text: request.text });
      if (request.dryRun) {
        // Valid, authorized and preflight passed: what would be stored, nothing stored.
        return { workflow: toWorkflowView(newWorkflow({ workflowId, tenant, spec, specHash, now: options.now() })), created: false };
      }
      const outcome = await engine.submitWorkflow(tenant, workflowId, spec, specHash);
      return { workflow: toWorkflowView(outcome.workflow), created: outcome.created };
    },

    async getWorkflow(request, ctx) {
      return toWorkflowView(authorizeWorkflow(ctx.principal.tenant, workflows.get(request.workflowId), request.workflowId));
    },

    async listWorkflows(request, ctx): Promise<ListWorkflowsResponse> {
      const all = workflows.list({ tenant: ctx.principal.tenant, states: request.states });
      const { page, nextPageToken } = pageOf(all, (w) => ({ createdMs: w.createdAt?.getTime() ?? 0, id: w.workflowId }), request);
      return { workflows: page.map(toWorkflowView), nextPageToken };
    },

    async cancelWorkflow(request, ctx) {
      authorizeWorkflow(ctx.principal.tenant, workflows.get(request.workflowId), request.workflowId);
      const workflow = await engine.cancelWorkflow(request.workflowId, request.reason);
      if (!workflow) throw new NotFoundError(`no workflow '${request.workflowId}'`);
      return toWorkflowView(workflow);
    },

    /** Events after `after_sequence`, live, until the workflow has ended (then the stream completes). */
    async watchWorkflow(request, ctx, write) {
      const { workflowId } = request;
      const workflow = authorizeWorkflow(ctx.principal.tenant, workflows.get(workflowId), workflowId);
      if (request.afterSequence < 0) throw new InvalidArgumentError('invalid sequence', [{ field: 'after_sequence', description: 'must not be negative' }]);
      const { events, complete } = workflows.history(workflowId, request.afterSequence);
      if (!complete || (events.length === 0 && workflow.sequence > request.afterSequence)) {
        throw new FailedPreconditionError(
          `events of workflow '${workflowId}' after sequence ${request.afterSequence} are no longer all kept; call GetWorkflow for the current state`,
        );
      }
      const ended = new AbortController();
      const signal = AbortSignal.any([ctx.signal, ended.signal]);
      let last = request.afterSequence;
      if (isWorkflowDone(workflow.state) && workflow.sequence <= last) return;
      const send = async (event: WorkflowEvent): Promise<void> => {
        if (event.sequence <= last) return;
        last = event.sequence;
        await write({ event: { ...event, task: event.task }, heartbeat: undefined });
        if (isWorkflowDone(event.state)) ended.abort();
      };
      const subscribe = (push: (event: WorkflowEvent) => void) => workflows.subscribe((event) => event.workflowId === workflowId && push(event));
      const heartbeat = () => write({ event: undefined, heartbeat: { time: options.now(), resumeToken: String(last) } });
      await follow(signal, subscribe, events, send, heartbeat, heartbeatMs, maxBuffered);
    },
  };
}
