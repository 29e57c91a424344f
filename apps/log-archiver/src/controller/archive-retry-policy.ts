import { backoffDelay } from '@wharf/platform';

/** What the archiver does when the deadline passed and the archive still fails. */
export const DeadlinePolicies = {
  /** Keep the finalizer (the Job and its pods stay) and keep retrying. */
  hold: 'hold',
  /** Record the loss (ArchiveFailed released=true), then remove the finalizer and delete the Job. */
  release: 'release',
} as const;
export type DeadlinePolicy = (typeof DeadlinePolicies)[keyof typeof DeadlinePolicies];

export interface RetryPolicyConfig {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** How long after the Job became archivable the archiver keeps trying before the policy applies. */
  readonly deadlineMs: number;
  readonly onDeadline: DeadlinePolicy;
}

/** What the controller remembers about a failing job (in memory; the clock start is in the API). */
export interface FailureState {
  /** Failed passes so far, this one included. */
  readonly attempts: number;
  /** An ArchiveFailed(retrying) was published for this job already. */
  readonly reportedRetrying: boolean;
  /** An ArchiveFailed(retrying) was published after the deadline already (policy hold). */
  readonly reportedDeadline: boolean;
}

export type FailureDecision =
  | { readonly action: 'retry'; readonly delayMs: number; readonly report: boolean; readonly pastDeadline: boolean }
  | { readonly action: 'release' };

/**
 * Pure decision after a failed pass: retry with exponential backoff (jittered) until
 * `archivableSince + deadlineMs`, then apply the policy. Reports (ArchiveFailed retrying=true)
 * go out on the first failure and once more when the deadline passes under "hold", so the
 * scheduler learns of the trouble without a flood.
 */
export function decideOnFailure(
  state: FailureState,
  archivableSince: number | undefined,
  now: number,
  config: RetryPolicyConfig,
  random: () => number = Math.random,
): FailureDecision {
  const since = archivableSince ?? now;
  const pastDeadline = now - since >= config.deadlineMs;
  if (pastDeadline && config.onDeadline === DeadlinePolicies.release) return { action: 'release' };
  const delayMs = backoffDelay(state.attempts, { minDelayMs: config.minDelayMs, maxDelayMs: config.maxDelayMs, random });
  const report = !state.reportedRetrying || (pastDeadline && !state.reportedDeadline);
  return { action: 'retry', delayMs, report, pastDeadline };
}
