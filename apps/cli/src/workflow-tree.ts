import {
  taskStateToJSON,
  workflowStateToJSON,
  type TaskSpec,
  type TaskStatus,
  type Workflow,
} from '@wharf/contracts';
import { formatDuration, shortEnum } from './output-format';

const icons: Record<string, string> = {
  WAITING: '·',
  RUNNING: '▶',
  SUCCEEDED: '✓',
  FAILED: '✗',
  SKIPPED: '↷',
  CANCELLED: '⊘',
  UNSPECIFIED: '?',
};

export function workflowState(workflow: Pick<Workflow, 'state' | 'cancelRequested'>): string {
  const state = shortEnum(workflowStateToJSON(workflow.state), 'WORKFLOW_STATE_');
  return workflow.cancelRequested && (state === 'PENDING' || state === 'RUNNING')
    ? `${state} (cancelling)`
    : state;
}

/**
 * The task tree of a workflow: each task under its first dependency (further dependencies are
 * named), `finally` tasks last. Pure, so `watch` re-renders it on every event.
 */
export function renderWorkflowTree(workflow: Workflow, now: Date): string[] {
  const spec = workflow.spec;
  const statuses = new Map(workflow.tasks.map((t) => [t.name, t]));
  const tasks: TaskSpec[] = spec?.tasks ?? [];
  const finallyTasks: TaskSpec[] = spec?.finally ?? [];
  const known = new Set(tasks.map((t) => t.name));
  const children = new Map<string, TaskSpec[]>();
  const roots: TaskSpec[] = [];
  for (const task of tasks) {
    const parent = task.dependsOn.find((d) => known.has(d));
    if (parent) children.set(parent, [...(children.get(parent) ?? []), task]);
    else roots.push(task);
  }
  const done = workflow.tasks.filter((t) => ['SUCCEEDED', 'SKIPPED'].includes(taskState(t))).length;
  const total = tasks.length + finallyTasks.length || workflow.tasks.length;
  const lines = [
    `${workflow.workflowId}  ${workflowState(workflow)}  ${done}/${total} tasks done${workflow.message ? `  — ${workflow.message}` : ''}`,
  ];
  const width = Math.max(4, ...[...tasks, ...finallyTasks].map((t) => t.name.length));

  const line = (task: TaskSpec, prefix: string, extraDeps: string[]) => {
    const status = statuses.get(task.name);
    const state = status ? taskState(status) : 'WAITING';
    const fanOut = task.withItems.length
      ? ` ×${task.withItems.length}`
      : task.withParam
        ? ' ×param'
        : '';
    const parts = [
      `${prefix}${icons[state] ?? '?'} ${task.name.padEnd(width)}${fanOut}`,
      state.padEnd(9),
      status?.jobId ? `job ${status.jobId}` : '',
      status?.startedAt ? formatDuration(status.startedAt, status.finishedAt, now) : '',
      extraDeps.length ? `(also after ${extraDeps.join(', ')})` : '',
      status?.message ?? '',
    ];
    return parts.filter(Boolean).join('  ').trimEnd();
  };
  const walk = (list: TaskSpec[], indent: string, seen: Set<string>) => {
    list.forEach((task, i) => {
      if (seen.has(task.name)) return;
      seen.add(task.name);
      const last = i === list.length - 1;
      const parent = task.dependsOn.find((d) => known.has(d));
      lines.push(
        line(
          task,
          `${indent}${last ? '└─ ' : '├─ '}`,
          task.dependsOn.filter((d) => d !== parent),
        ),
      );
      walk(children.get(task.name) ?? [], `${indent}${last ? '   ' : '│  '}`, seen);
    });
  };
  walk(roots, '', new Set());
  if (finallyTasks.length) {
    lines.push('finally:');
    for (const task of finallyTasks) lines.push(line(task, '   ', []));
  }
  // Tasks the server reports but the spec does not name (e.g. a spec without task details).
  for (const status of workflow.tasks) {
    if (!known.has(status.name) && !finallyTasks.some((t) => t.name === status.name)) {
      lines.push(`${icons[taskState(status)] ?? '?'} ${status.name}  ${taskState(status)}`);
    }
  }
  return lines;
}

export function taskState(status: TaskStatus): string {
  return shortEnum(taskStateToJSON(status.state), 'TASK_STATE_');
}
