import { jobStateToJSON, runStateToJSON, type IndexCounts, type JobEvent } from '@wharf/contracts';
import { shortEnum } from './output-format';

/** What `wharf watch` knows about a job, folded from its events (pure; duplicates ignored). */
export interface JobProgress {
  readonly jobId: string;
  readonly state: string;
  readonly run: number;
  readonly counts: IndexCounts;
  /** Highest event sequence applied: the resume point after a reconnect. */
  readonly lastSequence: number;
  readonly finished: boolean;
  readonly reason: string;
  readonly logsManifest: string;
}

export const TerminalJobStates: readonly string[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function initialProgress(jobId: string, total = 0): JobProgress {
  return {
    jobId,
    state: 'UNSPECIFIED',
    run: 0,
    counts: { total, succeeded: 0, failed: 0, active: 0 },
    lastSequence: 0,
    finished: false,
    reason: '',
    logsManifest: '',
  };
}

/**
 * Applies one event. Events at or below `lastSequence` are replays after a reconnect and
 * change nothing, so at-least-once delivery of the watch stream is harmless.
 */
export function applyJobEvent(progress: JobProgress, event: JobEvent): JobProgress {
  if (event.sequence <= progress.lastSequence) return progress;
  const state = shortEnum(jobStateToJSON(event.state), 'JOB_STATE_');
  let next: JobProgress = {
    ...progress,
    lastSequence: event.sequence,
    state,
    run: event.run || progress.run,
  };
  if (event.submitted?.spec) {
    const total = event.submitted.spec.items.length || 1;
    next = { ...next, counts: { ...next.counts, total } };
  }
  if (event.runCreated || event.admitted) {
    // A new run starts counting again.
    if (event.run !== progress.run)
      next = { ...next, counts: { ...next.counts, succeeded: 0, failed: 0, active: 0 } };
  }
  const counts = event.indexFinished?.counts ?? event.runFinished?.counts;
  if (counts && counts.total > 0) next = { ...next, counts };
  if (event.finished) next = { ...next, finished: true, reason: event.finished.reason };
  if (event.logsArchived) next = { ...next, logsManifest: event.logsArchived.manifest };
  if (TerminalJobStates.includes(state)) next = { ...next, finished: true };
  return next;
}

/** One human line per event, for logs and non-interactive terminals. */
export function describeJobEvent(event: JobEvent): string {
  const state = shortEnum(jobStateToJSON(event.state), 'JOB_STATE_');
  const at = event.time ? event.time.toISOString().slice(11, 19) : '--:--:--';
  const prefix = `${at} #${event.sequence}`;
  if (event.submitted)
    return `${prefix} submitted (${event.submitted.spec?.items.length || 1} index(es)) → ${state}`;
  if (event.admitted) return `${prefix} admitted, run ${event.run} → ${state}`;
  if (event.runCreated)
    return `${prefix} run ${event.run} created Kubernetes Job ${event.runCreated.namespace}/${event.runCreated.jobName}`;
  if (event.runStarted) return `${prefix} run ${event.run} started → ${state}`;
  if (event.indexFinished) {
    const r = event.indexFinished.result;
    const c = event.indexFinished.counts;
    const what = r?.succeeded
      ? 'succeeded'
      : `failed (exit ${r?.exitCode ?? '?'}${r?.reason ? `, ${r.reason}` : ''})`;
    return `${prefix} index ${r?.index ?? '?'} ${what} — ${c?.succeeded ?? 0}/${c?.total ?? 0} done, ${c?.failed ?? 0} failed`;
  }
  if (event.runFinished) {
    const f = event.runFinished;
    const runState = shortEnum(runStateToJSON(f.state), 'RUN_STATE_');
    return `${prefix} run ${event.run} ${runState}${f.reason ? ` (${f.reason})` : ''}${f.willRetry ? ', will retry' : ''}`;
  }
  if (event.finished) {
    return `${prefix} job ${state}${event.finished.reason ? ` (${event.finished.reason})` : ''}${event.finished.message ? `: ${event.finished.message}` : ''}`;
  }
  if (event.cancelRequested)
    return `${prefix} cancel requested${event.cancelRequested.reason ? `: ${event.cancelRequested.reason}` : ''}`;
  if (event.logsArchived) {
    const a = event.logsArchived;
    return `${prefix} logs archived: ${a.manifest} (${a.objects} objects, ${a.bytes} bytes${a.missing ? `, ${a.missing} missing` : ''})`;
  }
  return `${prefix} → ${state}`;
}
