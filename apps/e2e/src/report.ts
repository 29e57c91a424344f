import { describeEvent } from './event-kinds';
import type { JobOutcome, ScenarioOutcome, WorkflowOutcome } from './runner';
import { describeStep } from './sequence-matcher';

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);

function jobSummary(job: JobOutcome): string {
  return `${job.name} ${job.state ?? '?'} ${seconds(job.durationMs)}`;
}

function workflowSummary(wf: WorkflowOutcome): string {
  return `${wf.name} ${wf.state ?? '?'} ${seconds(wf.durationMs)} [${wf.tasks.map((t) => `${t.name} ${t.state}`).join(', ')}]`;
}

/** The event timeline of a job: every event, ✓ on those that matched an expected step. */
export function timeline(job: JobOutcome, indent: string): string[] {
  const matched = new Set(job.matched);
  return job.seen.map(
    (e) =>
      `${indent}${matched.has(e.sequence) ? '✓' : ' '} #${String(e.sequence).padEnd(3)} +${seconds(e.atMs).padEnd(7)} ${describeEvent(e)} → ${e.state}`,
  );
}

function jobDetails(job: JobOutcome, indent: string, verbose: boolean): string[] {
  if (job.passed && !verbose) return [];
  const lines = [`${indent}${job.passed ? 'ok  ' : 'FAIL'} ${job.name} (job ${job.jobId})`];
  const inner = `${indent}     `;
  for (const p of job.problems) lines.push(`${inner}${p}`);
  if (job.expected.length > 0)
    lines.push(`${inner}expected: ${job.expected.map(describeStep).join(' → ')}`);
  lines.push(`${inner}seen:${job.seen.length === 0 ? ' (no event)' : ''}`);
  lines.push(...timeline(job, `${inner}  `));
  for (const e of job.explanation) lines.push(`${inner}${e}`);
  return lines;
}

function workflowDetails(wf: WorkflowOutcome, indent: string, verbose: boolean): string[] {
  if (wf.passed && !verbose) return [];
  const lines = [
    `${indent}${wf.passed ? 'ok  ' : 'FAIL'} workflow ${wf.name} (${wf.workflowId}): ${wf.state ?? 'unknown'}`,
  ];
  const inner = `${indent}     `;
  for (const p of wf.problems) lines.push(`${inner}${p}`);
  for (const t of wf.tasks)
    lines.push(`${inner}task ${t.name}: ${t.state}${t.jobId ? ` (job ${t.jobId})` : ''}`);
  for (const job of wf.taskJobs) lines.push(...jobDetails(job, inner, verbose));
  return lines;
}

/** One scenario: a PASS/FAIL line with timings, then on failure (or verbose) the details. */
export function formatOutcome(
  outcome: ScenarioOutcome,
  nameWidth: number,
  verbose: boolean,
): string[] {
  const { scenario } = outcome;
  const parts = [...outcome.jobs.map(jobSummary), ...outcome.workflows.map(workflowSummary)];
  const head = `${outcome.passed ? 'PASS' : 'FAIL'}  ${scenario.name.padEnd(nameWidth)}  ${seconds(outcome.durationMs).padStart(6)}  ${parts.join('; ')}`;
  const lines = [head];
  if (!outcome.passed)
    lines.push(
      `      ${scenario.file}${outcome.timedOut ? ` (timeout ${scenario.timeoutMs / 1000} s)` : ''}`,
    );
  for (const job of outcome.jobs) lines.push(...jobDetails(job, '      ', verbose));
  for (const wf of outcome.workflows) lines.push(...workflowDetails(wf, '      ', verbose));
  return lines;
}

export function formatSummary(outcomes: readonly ScenarioOutcome[], totalMs: number): string {
  const failed = outcomes.filter((o) => !o.passed);
  const names = failed.length ? ` (failed: ${failed.map((o) => o.scenario.name).join(', ')})` : '';
  return `${outcomes.length} scenario(s): ${outcomes.length - failed.length} passed, ${failed.length} failed${names} in ${seconds(totalMs)}`;
}
