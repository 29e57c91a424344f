import { Option, type Command } from 'commander';
import {
  CancelJobResponse,
  ExplainJobResponse,
  Job,
  JobEvent,
  jobStateFromJSON,
  jobStateToJSON,
  ListJobsResponse,
  SubmitJobResponse,
  type JobState,
} from '@wharf/contracts';
import { CliError, ExitCodes } from './cli-errors';
import { collect, type CommandContext, type ContextFactory } from './cli-context';
import { buildSubmitRequest, type SubmitFlags } from './job-spec-builder';
import { applyJobEvent, describeJobEvent, initialProgress, type JobProgress } from './job-progress';
import { explainText, jobDetails, jobsTable } from './job-views';
import { formatData } from './output-format';
import { BarProgressView, LineProgressView, type ProgressView } from './progress-view';
import { messageToJson } from './proto-json';
import { resumableWatch } from './resumable-watch';

type Action = (ctx: CommandContext, command: Command, ...args: string[]) => Promise<number | void>;

/** Wraps an action: context from the command's flags, exit code out. */
export function action(contexts: ContextFactory, run: Action) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
    const code = await run(contexts.for(command), command, ...positional);
    if (typeof code === 'number' && code !== 0) contexts.exitCode = code;
  };
}

function printJob(ctx: CommandContext, job: Job): void {
  if (ctx.config.output === 'table') ctx.print(jobDetails(job, ctx.io.now()));
  else ctx.print(formatData(ctx.config.output, messageToJson(Job, 'wharf.v1.Job', job)));
}

/**
 * Follows a job's events until it finishes (and, with waitArchived, until its logs are
 * archived). Returns the final progress; 0 exit code when it succeeded.
 */
export async function watchJobProgress(
  ctx: CommandContext,
  jobId: string,
  options: { waitArchived?: boolean; view?: ProgressView } = {},
): Promise<JobProgress> {
  const api = ctx.api();
  const view =
    options.view ??
    (ctx.io.stdout.isTTY && ctx.config.output === 'table'
      ? new BarProgressView(ctx.io.stdout as unknown as NodeJS.WritableStream)
      : new LineProgressView(ctx.io.stdout));
  let progress = initialProgress(jobId);
  try {
    await resumableWatch({
      open: (after, signal) => api.watchJob(jobId, after, signal),
      signal: ctx.io.signal,
      ...(ctx.io.timers ? { timers: ctx.io.timers } : {}),
      onReconnect: (reason, attempt) => view.log(`(reconnecting, attempt ${attempt}: ${reason})`),
      onMessage: (message) => {
        const event = message.event;
        if (!event) return { sequence: progress.lastSequence, done: false };
        const before = progress;
        progress = applyJobEvent(progress, event);
        if (progress !== before) {
          if (ctx.config.output === 'table') view.log(describeJobEvent(event));
          else view.log(JSON.stringify(messageToJsonEvent(event)));
          view.update(progress);
        }
        const done = progress.finished && (!options.waitArchived || progress.logsManifest !== '');
        return { sequence: progress.lastSequence, done };
      },
    });
  } finally {
    view.stop();
  }
  return progress;
}

function messageToJsonEvent(event: JobEvent) {
  return messageToJson(JobEvent, 'wharf.v1.JobEvent', event);
}

function exitCodeOf(progress: JobProgress): number {
  if (!progress.finished) return ExitCodes.failure;
  return progress.state === 'SUCCEEDED' ? 0 : ExitCodes.jobFailed;
}

export function registerJobCommands(program: Command, contexts: ContextFactory): void {
  program
    .command('submit')
    .summary('submit a job (flags or a YAML file)')
    .description(
      'Submit a job. Give the spec in a YAML/JSON file (-f, proto3 JSON field names) or as flags; flags override the file.\n' +
        'The command follows `--`: wharf submit --name hello --image busybox -- echo hi',
    )
    .option('-f, --file <path>', 'JobSpec as YAML or JSON')
    .option(
      '--id <key>',
      'idempotency key = job id (a DNS label); default: derived from name and spec',
    )
    .option('--name <name>', 'job name')
    .option('--image <image>', 'container image')
    .option('--namespace <ns>', 'Kubernetes namespace of the job')
    .option('--queue <queue>', 'queue to wait in')
    .option('--priority <n>', 'higher first within the queue')
    .option('--parallelism <n>', 'pods running at once')
    .option('--item <value>', 'one index per --item (repeatable): makes an Indexed Job', collect)
    .option('--items-file <path>', 'one index per non-empty line')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collect)
    .option(
      '--secret <ENV=value>',
      'inline secret value as env var (repeatable; prefer --secret-env)',
      collect,
    )
    .option(
      '--secret-env <ENV>',
      "inline secret taken from this shell's environment variable ENV (repeatable)",
      collect,
    )
    .option(
      '--secret-ref <ENV=secret/key>',
      'env var from an existing Kubernetes Secret (repeatable)',
      collect,
    )
    .option('--label <k=v>', 'label (repeatable)', collect)
    .option('--annotation <k=v>', 'pod annotation (repeatable)', collect)
    .option('--input <k=v>', 'input value, JSON or text (repeatable)', collect)
    .option('--inputs-json <json>', 'all inputs as a JSON object')
    .option('--cpu <quantity>', 'CPU per pod, e.g. 500m')
    .option('--memory <quantity>', 'memory per pod, e.g. 256Mi')
    .option('--gpu <n>', 'GPUs per pod')
    .option('--deadline <seconds>', 'pod lifetime (activeDeadlineSeconds)')
    .option('--max-attempts <n>', 'whole-run attempts on infrastructure failures')
    .option('--backoff-limit-per-index <n>', 'retries per index')
    .option('--service-account <name>', 'service account of the pods')
    .option('-w, --watch', 'follow the job until it finishes')
    .argument('[command...]', 'command and arguments (after --)')
    .action(
      action(contexts, async (ctx, command) => {
        const words = (command.args ?? []) as string[];
        const request = buildSubmitRequest({
          flags: command.opts<SubmitFlags>(),
          command: words,
          readFile: ctx.io.readFile,
          env: ctx.io.env,
        });
        const response = await ctx.api().submitJob(request);
        const jobId = response.job?.jobId ?? '';
        if (ctx.config.output === 'table') {
          ctx.print(
            response.created
              ? `job ${jobId} submitted (${response.job ? jobStateLabel(response.job.state) : 'QUEUED'})\n`
              : `job ${jobId} already exists with the same spec (idempotent re-submission)\n`,
          );
        } else {
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(SubmitJobResponse, 'wharf.v1.SubmitJobResponse', response),
            ),
          );
        }
        if (command.opts<{ watch?: boolean }>().watch) {
          return exitCodeOf(await watchJobProgress(ctx, jobId));
        }
        return 0;
      }),
    );

  program
    .command('get')
    .summary('show a job')
    .argument('<job-id>')
    .action(
      action(contexts, async (ctx, _command, jobId = '') => {
        printJob(ctx, await ctx.api().getJob(jobId));
      }),
    );

  program
    .command('list')
    .summary('list jobs')
    .option('--queue <queue>', 'only this queue')
    .addOption(
      new Option('--state <state>', 'only these states (repeatable)')
        .choices(['queued', 'admitted', 'running', 'succeeded', 'failed', 'cancelled'])
        .argParser(collect),
    )
    .option('--namespace <ns>', 'only this namespace')
    .option('--label <k=v>', 'only jobs with this label (repeatable)', collect)
    .option('--limit <n>', 'at most this many jobs (default: 100; 0: all pages)', '100')
    .action(
      action(contexts, async (ctx, command) => {
        const opts = command.opts<{
          queue?: string;
          state?: string[];
          namespace?: string;
          label?: string[];
          limit: string;
        }>();
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 0)
          throw new CliError('--limit expects a whole number', ExitCodes.usage);
        const states = (opts.state ?? []).map(
          (s) => jobStateFromJSON(`JOB_STATE_${s.toUpperCase()}`) as JobState,
        );
        const labels = Object.fromEntries(
          (opts.label ?? []).map((l) => {
            const at = l.indexOf('=');
            if (at <= 0) throw new CliError(`--label expects k=v, got '${l}'`, ExitCodes.usage);
            return [l.slice(0, at), l.slice(at + 1)];
          }),
        );
        const jobs: Job[] = [];
        let pageToken = '';
        do {
          const pageSize = limit === 0 ? 1000 : Math.min(1000, limit - jobs.length);
          const page = await ctx.api().listJobs({
            queue: opts.queue ?? '',
            namespace: opts.namespace ?? '',
            states,
            labels,
            pageSize,
            pageToken,
          });
          jobs.push(...page.jobs);
          pageToken = page.nextPageToken;
        } while (pageToken && (limit === 0 || jobs.length < limit));
        if (ctx.config.output === 'table')
          ctx.print(jobs.length ? jobsTable(jobs, ctx.io.now()) : 'no jobs\n');
        else
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(ListJobsResponse, 'wharf.v1.ListJobsResponse', {
                jobs,
                nextPageToken: pageToken,
              }),
            ),
          );
      }),
    );

  program
    .command('watch')
    .summary('follow a job live: indexes done/failed/total')
    .argument('<job-id>')
    .option('--wait-archived', 'after the job finishes, wait until its logs are archived')
    .action(
      action(contexts, async (ctx, command, jobId = '') => {
        const progress = await watchJobProgress(ctx, jobId, {
          waitArchived: Boolean(command.opts<{ waitArchived?: boolean }>().waitArchived),
        });
        if (progress.finished && ctx.config.output === 'table') {
          ctx.note(
            `job ${jobId} ${progress.state}${progress.reason ? ` (${progress.reason})` : ''}`,
          );
          if (progress.logsManifest) ctx.note(`logs archived: ${progress.logsManifest}`);
        }
        return exitCodeOf(progress);
      }),
    );

  program
    .command('logs')
    .summary("print a job's logs (live while running, archived after)")
    .argument('<job-id>')
    .option('--index <n>', 'index of an Indexed Job', '0')
    .option('--run <n>', 'run (attempt) number; default: the latest')
    .option('--container <name>', 'container; default: main')
    .option('-f, --follow', 'keep printing as the job writes')
    .action(
      action(contexts, async (ctx, command, jobId = '') => {
        const opts = command.opts<{
          index: string;
          run?: string;
          container?: string;
          follow?: boolean;
        }>();
        const index = Number(opts.index);
        const run = opts.run === undefined ? 0 : Number(opts.run);
        if (!Number.isInteger(index) || index < 0)
          throw new CliError('--index expects a whole number', ExitCodes.usage);
        if (!Number.isInteger(run) || run < 0)
          throw new CliError('--run expects a whole number', ExitCodes.usage);
        let announced = '';
        for await (const chunk of ctx
          .api()
          .getLogs(
            { jobId, index, run, follow: Boolean(opts.follow), container: opts.container ?? '' },
            ctx.io.signal,
          )) {
          const origin = `${chunk.source}:${chunk.pod}/${chunk.container}`;
          if (origin !== announced) {
            ctx.note(
              `==> ${chunk.pod || jobId} [${chunk.container || 'main'}] index ${chunk.index} (${chunk.source === 'archive' ? 'from the archive' : 'live'}) <==`,
            );
            announced = origin;
          }
          ctx.print(Buffer.from(chunk.data).toString('utf8'));
        }
      }),
    );

  program
    .command('cancel')
    .summary('cancel a job')
    .argument('<job-id>')
    .option('--reason <text>', 'recorded with the cancellation', 'cancelled with the wharf CLI')
    .action(
      action(contexts, async (ctx, command, jobId = '') => {
        const response = await ctx
          .api()
          .cancelJob(jobId, command.opts<{ reason: string }>().reason);
        if (ctx.config.output === 'table') {
          const state = response.job ? jobStateLabel(response.job.state) : '';
          ctx.print(
            state === 'CANCELLED'
              ? `job ${jobId} cancelled\n`
              : `job ${jobId}: cancel requested (now ${state}; it ends CANCELLED once its pods are gone)\n`,
          );
        } else
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(CancelJobResponse, 'wharf.v1.CancelJobResponse', response),
            ),
          );
      }),
    );

  program
    .command('explain')
    .summary('why is my job still queued?')
    .argument('<job-id>')
    .action(
      action(contexts, async (ctx, _command, jobId = '') => {
        const explain = await ctx.api().explainJob(jobId);
        if (ctx.config.output === 'table') ctx.print(explainText(jobId, explain));
        else
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(ExplainJobResponse, 'wharf.v1.ExplainJobResponse', explain),
            ),
          );
      }),
    );
}

function jobStateLabel(state: JobState): string {
  return jobStateToJSON(state).replace(/^JOB_STATE_/, '');
}
