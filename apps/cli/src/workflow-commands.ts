import type { Command } from 'commander';
import {
  ListWorkflowsResponse,
  SubmitWorkflowResponse,
  Workflow,
  WorkflowEvent,
  taskStateToJSON,
  workflowStateToJSON,
  type TaskStatus,
} from '@wharf/contracts';
import { parseDocument } from 'yaml';
import { CliError, ExitCodes } from './cli-errors';
import { collect, type CommandContext, type ContextFactory } from './cli-context';
import { action } from './job-commands';
import { JOB_ID_PATTERN } from './job-spec-builder';
import { formatAge, formatData, formatTable, shortEnum } from './output-format';
import { messageToJson } from './proto-json';
import { resumableWatch } from './resumable-watch';
import { renderWorkflowTree, workflowState } from './workflow-tree';

const terminal = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/**
 * The workflow text to send: the file as is (so the server's errors carry its line numbers),
 * with --param values set under `parameters`.
 */
export function workflowText(text: string, path: string, params: readonly string[]): string {
  if (params.length === 0) return text;
  const doc = parseDocument(text);
  if (doc.errors.length) throw new CliError(`${path}: ${doc.errors[0]?.message}`, ExitCodes.usage);
  for (const p of params) {
    const at = p.indexOf('=');
    if (at <= 0) throw new CliError(`--param expects name=value, got '${p}'`, ExitCodes.usage);
    doc.setIn(['parameters', p.slice(0, at)], p.slice(at + 1));
  }
  return doc.toString();
}

/** Applies a workflow event to a snapshot: state, message, and the task it reports on. */
export function applyWorkflowEvent(workflow: Workflow, event: WorkflowEvent): Workflow {
  if (event.sequence <= workflow.sequence) return workflow;
  const tasks: TaskStatus[] = [...workflow.tasks];
  if (event.task) {
    const at = tasks.findIndex((t) => t.name === event.task?.name);
    if (at >= 0) tasks[at] = event.task;
    else tasks.push(event.task);
  }
  return {
    ...workflow,
    state: event.state,
    sequence: event.sequence,
    tasks,
    message: event.message || workflow.message,
  };
}

function printWorkflow(ctx: CommandContext, workflow: Workflow): void {
  if (ctx.config.output === 'table')
    ctx.print(`${renderWorkflowTree(workflow, ctx.io.now()).join('\n')}\n`);
  else
    ctx.print(
      formatData(ctx.config.output, messageToJson(Workflow, 'wharf.v1.Workflow', workflow)),
    );
}

/** Follows a workflow until it ends, re-drawing its task tree (or printing a line per event). */
export async function watchWorkflow(ctx: CommandContext, workflowId: string): Promise<Workflow> {
  const api = ctx.api();
  let workflow = await api.getWorkflow(workflowId);
  const live = Boolean(ctx.io.stdout.isTTY) && ctx.config.output === 'table';
  let drawn = 0;
  const draw = () => {
    if (!live) return;
    const lines = renderWorkflowTree(workflow, ctx.io.now());
    // Move up over the previous drawing and clear it, then draw again.
    ctx.io.stdout.write(`${drawn ? `\x1b[${drawn}A\x1b[0J` : ''}${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  draw();
  if (terminal.includes(shortEnum(workflowStateToJSON(workflow.state), 'WORKFLOW_STATE_'))) {
    if (!live) printWorkflow(ctx, workflow);
    return workflow;
  }
  await resumableWatch({
    open: (after, signal) =>
      api.watchWorkflow(workflowId, Math.max(after, workflow.sequence), signal),
    signal: ctx.io.signal,
    ...(ctx.io.timers ? { timers: ctx.io.timers } : {}),
    onReconnect: (reason, attempt) => ctx.note(`(reconnecting, attempt ${attempt}: ${reason})`),
    onMessage: (message) => {
      const event = message.event;
      if (event) {
        const before = workflow;
        workflow = applyWorkflowEvent(workflow, event);
        if (workflow !== before) {
          if (live) draw();
          else if (ctx.config.output === 'table') ctx.print(`${describeWorkflowEvent(event)}\n`);
          else
            ctx.print(
              `${JSON.stringify(messageToJson(WorkflowEvent, 'wharf.v1.WorkflowEvent', event))}\n`,
            );
        }
      }
      const state = shortEnum(workflowStateToJSON(workflow.state), 'WORKFLOW_STATE_');
      return { sequence: workflow.sequence, done: terminal.includes(state) };
    },
  });
  if (!live && ctx.config.output === 'table')
    ctx.print(`${renderWorkflowTree(workflow, ctx.io.now()).join('\n')}\n`);
  return workflow;
}

export function describeWorkflowEvent(event: WorkflowEvent): string {
  const at = event.time ? event.time.toISOString().slice(11, 19) : '--:--:--';
  const state = shortEnum(workflowStateToJSON(event.state), 'WORKFLOW_STATE_');
  const task = event.task
    ? ` task ${event.task.name} ${shortEnum(String(taskStateName(event.task)), 'TASK_STATE_')}${event.task.jobId ? ` (job ${event.task.jobId})` : ''}`
    : '';
  return `${at} #${event.sequence} workflow ${state}${task}${event.message ? ` — ${event.message}` : ''}`;
}

function taskStateName(task: TaskStatus): string {
  return taskStateToJSON(task.state);
}

export function registerWorkflowCommands(program: Command, contexts: ContextFactory): void {
  const workflow = program
    .command('workflow')
    .summary('submit, follow and cancel workflows (DAGs of tasks)');

  workflow
    .command('submit')
    .summary('submit a workflow from a YAML file')
    .requiredOption('-f, --file <path>', 'WorkflowSpec as YAML or JSON')
    .option('--param <name=value>', 'set a parameter (repeatable)', collect)
    .option('--id <key>', 'idempotency key = workflow id (a DNS label)')
    .option('--dry-run', 'preflight and render only; create nothing')
    .option('-w, --watch', 'follow the workflow until it ends')
    .action(
      action(contexts, async (ctx, command) => {
        const opts = command.opts<{
          file: string;
          param?: string[];
          id?: string;
          dryRun?: boolean;
          watch?: boolean;
        }>();
        if (opts.id !== undefined && (!JOB_ID_PATTERN.test(opts.id) || opts.id.length > 63)) {
          throw new CliError(
            `--id '${opts.id}' must be a DNS label: lowercase letters, digits and '-', at most 63 characters`,
            ExitCodes.usage,
          );
        }
        const text = workflowText(ctx.io.readFile(opts.file), opts.file, opts.param ?? []);
        const response = await ctx.api().submitWorkflow({
          text,
          idempotencyKey: opts.id ?? '',
          dryRun: Boolean(opts.dryRun),
        });
        const id = response.workflow?.workflowId ?? '';
        if (ctx.config.output === 'table') {
          if (opts.dryRun)
            ctx.print(`workflow ${id}: preflight passed (dry run, nothing created)\n`);
          else
            ctx.print(
              response.created
                ? `workflow ${id} submitted\n`
                : `workflow ${id} already exists with the same spec\n`,
            );
          if (response.workflow && opts.dryRun)
            ctx.print(`${renderWorkflowTree(response.workflow, ctx.io.now()).join('\n')}\n`);
        } else {
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(SubmitWorkflowResponse, 'wharf.v1.SubmitWorkflowResponse', response),
            ),
          );
        }
        if (opts.watch && !opts.dryRun) return exitOf(await watchWorkflow(ctx, id));
        return 0;
      }),
    );

  workflow
    .command('get')
    .summary('show a workflow and its task tree')
    .argument('<workflow-id>')
    .action(
      action(contexts, async (ctx, _command, id = '') => {
        printWorkflow(ctx, await ctx.api().getWorkflow(id));
      }),
    );

  workflow
    .command('list')
    .summary('list workflows')
    .option('--limit <n>', 'at most this many', '100')
    .action(
      action(contexts, async (ctx, command) => {
        const limit = Number(command.opts<{ limit: string }>().limit);
        const page = await ctx.api().listWorkflows({ pageSize: limit });
        if (ctx.config.output === 'table') {
          ctx.print(
            page.workflows.length
              ? formatTable(
                  ['WORKFLOW ID', 'STATE', 'TASKS', 'AGE'],
                  page.workflows.map((w) => [
                    w.workflowId,
                    workflowState(w),
                    `${w.tasks.filter((t) => shortEnum(taskStateToJSON(t.state), 'TASK_STATE_') === 'SUCCEEDED').length}/${w.tasks.length || w.spec?.tasks.length || 0}`,
                    formatAge(w.createdAt, ctx.io.now()),
                  ]),
                )
              : 'no workflows\n',
          );
        } else
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(ListWorkflowsResponse, 'wharf.v1.ListWorkflowsResponse', page),
            ),
          );
      }),
    );

  workflow
    .command('watch')
    .summary('follow a workflow live: its task tree')
    .argument('<workflow-id>')
    .action(
      action(contexts, async (ctx, _command, id = '') => exitOf(await watchWorkflow(ctx, id))),
    );

  workflow
    .command('cancel')
    .summary('cancel a workflow and its running tasks')
    .argument('<workflow-id>')
    .option('--reason <text>', 'recorded with the cancellation', 'cancelled with the wharf CLI')
    .action(
      action(contexts, async (ctx, command, id = '') => {
        const result = await ctx
          .api()
          .cancelWorkflow(id, command.opts<{ reason: string }>().reason);
        if (ctx.config.output === 'table') ctx.print(`workflow ${id}: ${workflowState(result)}\n`);
        else
          ctx.print(
            formatData(ctx.config.output, messageToJson(Workflow, 'wharf.v1.Workflow', result)),
          );
      }),
    );
}

function exitOf(workflow: Workflow): number {
  return shortEnum(workflowStateToJSON(workflow.state), 'WORKFLOW_STATE_') === 'SUCCEEDED'
    ? 0
    : ExitCodes.jobFailed;
}
