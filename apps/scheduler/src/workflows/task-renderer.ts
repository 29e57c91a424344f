import { type JobSpec, type TaskSpec, type WorkflowSpec } from '@wharf/contracts';
import { taskJobId } from './workflow-identity';
import { renderTemplate, resolveReference, parseTemplate, type TemplateScope } from './workflow-template';

/** A task rendered for submission: its deterministic job id and the job spec. */
export interface RenderedTask {
  readonly task: string;
  readonly jobId: string;
  readonly spec: JobSpec;
}

export function isFanOut(task: TaskSpec): boolean {
  return task.withItems.length > 0 || task.withParam !== '';
}

/** A withParam list element as a job item: strings as is, other values as JSON text. */
function itemText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The items of a fan-out task: withItems rendered, or the JSON list withParam resolves to (a
 * task output list, or a parameter holding JSON text). Not a list → an error message.
 */
export function resolveItems(task: TaskSpec, scope: TemplateScope): { items: string[] } | { error: string } {
  if (task.withItems.length) return { items: task.withItems.map((item) => renderTemplate(item, scope)) };
  if (task.withParam === '') return { items: [] };
  const parse = parseTemplate(task.withParam.trim());
  const reference = parse.ok ? parse.parts[0]?.reference : undefined;
  let value = reference ? resolveReference(reference, scope) : undefined;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return { error: `withParam ${task.withParam} is not a JSON list` };
    }
  }
  if (!Array.isArray(value)) return { error: `withParam ${task.withParam} did not resolve to a JSON list` };
  return { items: value.map(itemText) };
}

function renderValue(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return renderTemplate(value, scope);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, renderValue(v, scope)]));
  }
  return value;
}

const renderMap = (map: Record<string, string>, scope: TemplateScope) =>
  Object.fromEntries(Object.entries(map).map(([k, v]) => [k, renderTemplate(v, scope)]));

/**
 * Renders a task of `workflowId` into the job it runs. `items` (from {@link resolveItems}) makes
 * it ONE Indexed Job. Per-task `retries` become per-index retries (backoffLimitPerIndex);
 * workspaces become PVC volumes. Pure.
 */
export function renderTaskJob(
  workflowId: string,
  spec: WorkflowSpec,
  task: TaskSpec,
  scope: TemplateScope,
  items: readonly string[],
): RenderedTask {
  const t = task.template;
  if (!t) throw new TypeError(`task ${task.name} has no template`);
  const workspaces = new Map(spec.workspaces.map((w) => [w.name, w.claimName]));
  const retry = t.retry ?? { backoffLimitPerIndex: 0, exitCodeRules: [], maxAttempts: 0, backoffSeconds: 0 };
  const job: JobSpec = {
    name: renderTemplate(t.name || `${spec.name}-${task.name}`, scope),
    namespace: renderTemplate(t.namespace || spec.namespace, scope),
    queue: renderTemplate(t.queue || spec.queue, scope),
    priority: t.priority,
    // The workflow and task labels come from the job record (LaunchRun.workflow_id/task_name).
    labels: renderMap(t.labels, scope),
    image: renderTemplate(t.image, scope),
    command: t.command.map((c) => renderTemplate(c, scope)),
    args: t.args.map((a) => renderTemplate(a, scope)),
    env: renderMap(t.env, scope),
    ...(t.inputs ? { inputs: renderValue(t.inputs, scope) as Record<string, unknown> } : {}),
    items: [...items],
    secrets: t.secrets.map((s) =>
      s.secretRef
        ? { env: s.env, secretRef: { name: renderTemplate(s.secretRef.name, scope), key: renderTemplate(s.secretRef.key, scope) } }
        : { env: s.env, value: renderTemplate(s.value ?? '', scope) },
    ),
    ...(t.resources ? { resources: { ...t.resources } } : {}),
    parallelism: t.parallelism,
    activeDeadlineSeconds: t.activeDeadlineSeconds,
    retry: { ...retry, backoffLimitPerIndex: task.retries > 0 ? task.retries : retry.backoffLimitPerIndex },
    volumes: [
      ...t.volumes.map((v) => ({ ...v, claimName: renderTemplate(v.claimName, scope) })),
      ...task.workspaces.map((b) => ({ claimName: workspaces.get(b.name) ?? '', mountPath: b.mountPath, readOnly: false })),
    ],
    serviceAccount: renderTemplate(t.serviceAccount, scope),
    annotations: renderMap(t.annotations, scope),
  };
  return { task: task.name, jobId: taskJobId(workflowId, task.name), spec: job };
}
