import {
  jobStateToJSON,
  runStateToJSON,
  type ExplainJobResponse,
  type Job,
  type Run,
} from '@wharf/contracts';
import { formatAge, formatDuration, formatTable, shortEnum } from './output-format';

export function jobState(job: Pick<Job, 'state' | 'cancelRequested'>): string {
  const state = shortEnum(jobStateToJSON(job.state), 'JOB_STATE_');
  return job.cancelRequested && !['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(state)
    ? `${state} (cancelling)`
    : state;
}

export function latestRun(job: Pick<Job, 'runs'>): Run | undefined {
  return job.runs[job.runs.length - 1];
}

/** "3/5 (1 failed)" from the latest run's index counts, or "-" before the first run. */
export function progressOf(job: Pick<Job, 'runs' | 'spec'>): string {
  const run = latestRun(job);
  const total = run?.indexes?.total || job.spec?.items.length || (job.spec ? 1 : 0);
  if (!run?.indexes) return total ? `0/${total}` : '-';
  const { succeeded, failed } = run.indexes;
  return `${succeeded}/${total}${failed ? ` (${failed} failed)` : ''}`;
}

export function jobsTable(jobs: readonly Job[], now: Date): string {
  return formatTable(
    ['JOB ID', 'STATE', 'QUEUE', 'PROGRESS', 'RUN', 'AGE'],
    jobs.map((j) => [
      j.jobId,
      jobState(j),
      j.spec?.queue || '-',
      progressOf(j),
      String(latestRun(j)?.number ?? '-'),
      formatAge(j.createdAt, now),
    ]),
  );
}

export function jobDetails(job: Job, now: Date): string {
  const spec = job.spec;
  const lines = [
    `Job:        ${job.jobId}`,
    `State:      ${jobState(job)}${job.reason ? ` — ${job.reason}` : ''}${job.message ? `: ${job.message}` : ''}`,
    `Tenant:     ${job.tenant || '-'}`,
    `Queue:      ${spec?.queue || '-'}   Namespace: ${spec?.namespace || '-'}   Priority: ${spec?.priority ?? 0}`,
    `Image:      ${spec?.image || '-'}`,
    `Command:    ${[...(spec?.command ?? []), ...(spec?.args ?? [])].join(' ') || '-'}`,
    `Items:      ${spec?.items.length ?? 0}   Parallelism: ${spec?.parallelism || 1}`,
    `Progress:   ${progressOf(job)}`,
    `Created:    ${job.createdAt?.toISOString() ?? '-'} (${formatAge(job.createdAt, now)} ago)`,
  ];
  if (job.finishedAt) lines.push(`Finished:   ${job.finishedAt.toISOString()}`);
  if (job.workflowId) lines.push(`Workflow:   ${job.workflowId}`);
  if (job.runs.length) {
    lines.push(
      '',
      formatTable(
        ['RUN', 'STATE', 'K8S JOB', 'INDEXES', 'DURATION', 'REASON', 'LOGS'],
        job.runs.map((r) => [
          String(r.number),
          shortEnum(runStateToJSON(r.state), 'RUN_STATE_'),
          r.jobName || '-',
          r.indexes
            ? `${r.indexes.succeeded}✓ ${r.indexes.failed}✗ ${r.indexes.active}… /${r.indexes.total}`
            : '-',
          formatDuration(r.startedAt ?? r.launchedAt, r.finishedAt, now),
          r.reason || '-',
          r.logsLost ? 'lost' : r.logsManifest || '-',
        ]),
      ).trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function explainText(jobId: string, explain: ExplainJobResponse): string {
  const state = shortEnum(jobStateToJSON(explain.state), 'JOB_STATE_');
  const lines = [`${jobId} is ${state}.`];
  if (explain.queuePosition > 0)
    lines.push(`Position ${explain.queuePosition} of ${explain.queueLength} waiting in its queue.`);
  if (explain.summary) lines.push(explain.summary);
  if (explain.blockers.length) {
    lines.push('Blocked by:');
    for (const b of explain.blockers) lines.push(`  - [${b.kind}] ${b.message}`);
  }
  return `${lines.join('\n')}\n`;
}
