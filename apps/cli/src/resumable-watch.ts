import { CliError, ExitCodes } from './cli-errors';

/** Injected time, so the watchdog and backoff are testable without sleeping. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): { cancel(): void };
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realTimers: Timers = {
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  sleep(ms, signal) {
    return new Promise((resolve) => {
      const handle = setTimeout(resolve, ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(handle);
          resolve();
        },
        { once: true },
      );
    });
  },
};

export interface ResumableWatchOptions<M> {
  /** Opens the stream after a sequence number. */
  readonly open: (afterSequence: number, signal: AbortSignal) => AsyncIterable<M>;
  /** Handles one message; returns the new resume sequence and whether watching is done. */
  readonly onMessage: (message: M) => { sequence: number; done: boolean };
  readonly signal: AbortSignal;
  readonly timers?: Timers;
  /**
   * With no message (event or heartbeat) for this long the stream is presumed stalled
   * (a silently dropped connection) and reopened. @default 45000
   */
  readonly idleTimeoutMs?: number;
  /** Consecutive failed reconnects before giving up. @default 8 */
  readonly maxReconnects?: number;
  /** Told about each reconnect (for a status line). */
  readonly onReconnect?: (reason: string, attempt: number) => void;
}

/**
 * Follows a server stream that can be resumed from a sequence number: on a dropped stream, an
 * UNAVAILABLE error or a stall (no heartbeat within idleTimeoutMs) it reopens after the last
 * sequence seen, with exponential backoff; replayed messages are the handler's to ignore.
 * Resolves when the handler says done or the signal aborts.
 */
export async function resumableWatch<M>(options: ResumableWatchOptions<M>): Promise<void> {
  const timers = options.timers ?? realTimers;
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  const maxReconnects = options.maxReconnects ?? 8;
  let after = 0;
  let failures = 0;
  while (!options.signal.aborted) {
    const attempt = new AbortController();
    const stop = () => attempt.abort();
    options.signal.addEventListener('abort', stop, { once: true });
    let stalled = false;
    let watchdog = timers.setTimeout(() => {
      stalled = true;
      attempt.abort();
    }, idleTimeoutMs);
    const pet = () => {
      watchdog.cancel();
      watchdog = timers.setTimeout(() => {
        stalled = true;
        attempt.abort();
      }, idleTimeoutMs);
    };
    let reason: string;
    try {
      let done = false;
      for await (const message of options.open(after, attempt.signal)) {
        pet();
        failures = 0;
        const result = options.onMessage(message);
        after = Math.max(after, result.sequence);
        if (result.done) {
          done = true;
          break;
        }
      }
      if (done || options.signal.aborted) return;
      reason = stalled
        ? `no heartbeat for ${Math.round(idleTimeoutMs / 1000)} s`
        : 'the server closed the stream';
    } catch (error) {
      if (options.signal.aborted) return;
      const retriable = error instanceof CliError && error.exitCode === ExitCodes.unavailable;
      if (!retriable && !stalled) throw error;
      reason = stalled
        ? `no heartbeat for ${Math.round(idleTimeoutMs / 1000)} s`
        : (error as Error).message;
    } finally {
      watchdog.cancel();
      attempt.abort();
      options.signal.removeEventListener('abort', stop);
    }
    failures++;
    if (failures > maxReconnects) {
      throw new CliError(
        `gave up following the stream after ${maxReconnects} reconnects: ${reason}`,
        ExitCodes.unavailable,
      );
    }
    options.onReconnect?.(reason, failures);
    await timers.sleep(Math.min(10_000, 250 * 2 ** (failures - 1)), options.signal);
  }
}
