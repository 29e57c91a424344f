import type { StreamDefinition } from './stream-definition';

/** What the owner of a stream asked for, as this replica knows it. */
export type DesiredStream =
  | { readonly kind: 'valid'; readonly definition: StreamDefinition }
  | { readonly kind: 'invalid'; readonly id: string; readonly generation: number; readonly error: string };

/** What this replica is doing with a stream. */
export interface ActualStream {
  readonly generation: number;
  readonly state: 'running' | 'paused' | 'failed';
  /** When it failed (start failure or invalid spec), for the retry delay. */
  readonly failedAt?: number;
}

export type StreamAction =
  | { readonly type: 'start'; readonly definition: StreamDefinition }
  | { readonly type: 'restart'; readonly definition: StreamDefinition }
  | { readonly type: 'pause'; readonly definition: StreamDefinition }
  | { readonly type: 'fail'; readonly id: string; readonly generation: number; readonly error: string }
  | { readonly type: 'remove'; readonly id: string };

export interface PlanOptions {
  readonly now: number;
  /** A stream that failed to start is tried again after this long. */
  readonly retryFailedAfterMs: number;
}

/**
 * The one decision of stream-ingest, a pure function of (desired, actual, now): which streams
 * to start, restart (a new generation), pause, mark failed (an invalid spec) or remove
 * (deleted, or its partition moved to another replica). Level-triggered: running it twice on
 * the same snapshot after the actions were applied yields nothing to do.
 */
export function planStreams(
  desired: ReadonlyMap<string, DesiredStream>,
  actual: ReadonlyMap<string, ActualStream>,
  options: PlanOptions,
): StreamAction[] {
  const actions: StreamAction[] = [];
  for (const id of [...actual.keys()].sort()) {
    if (!desired.has(id)) actions.push({ type: 'remove', id });
  }
  for (const [id, want] of [...desired.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const have = actual.get(id);
    if (want.kind === 'invalid') {
      if (!have || have.state !== 'failed' || have.generation !== want.generation) {
        actions.push({ type: 'fail', id, generation: want.generation, error: want.error });
      }
      continue;
    }
    const { definition } = want;
    if (definition.desired === 'paused') {
      if (!have || have.state !== 'paused' || have.generation !== definition.generation) {
        actions.push({ type: 'pause', definition });
      }
      continue;
    }
    if (!have) {
      actions.push({ type: 'start', definition });
    } else if (have.generation !== definition.generation) {
      actions.push({ type: 'restart', definition });
    } else if (have.state === 'paused') {
      actions.push({ type: 'start', definition });
    } else if (have.state === 'failed' && options.now - (have.failedAt ?? 0) >= options.retryFailedAfterMs) {
      actions.push({ type: 'restart', definition });
    }
  }
  return actions;
}
