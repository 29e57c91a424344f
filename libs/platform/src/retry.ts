import { isRetriable } from './errors';

export interface RetryOptions {
  /** Attempts after the first; Infinity retries until `signal` aborts. @default 5 */
  readonly retries?: number;
  /** @default 100 */
  readonly minDelayMs?: number;
  /** @default 30_000 */
  readonly maxDelayMs?: number;
  /** @default 2 */
  readonly factor?: number;
  /** Fraction of each delay that is randomised (full jitter at 1). @default 0.2 */
  readonly jitter?: number;
  /** Which errors to retry. @default isRetriable (never programming errors) */
  readonly shouldRetry?: (error: unknown) => boolean;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly signal?: AbortSignal;
  /** Injected for tests. */
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The delay before retry `attempt` (1-based): exponential, capped, with jitter. */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const { minDelayMs = 100, maxDelayMs = 30_000, factor = 2, jitter = 0.2, random = Math.random } =
    options;
  const exponential = Math.min(maxDelayMs, minDelayMs * factor ** (attempt - 1));
  const spread = exponential * jitter;
  return Math.max(0, Math.round(exponential - spread + random() * spread * 2));
}

/**
 * Runs `operation` until it succeeds, retrying retriable failures with exponential backoff
 * and jitter. Programming errors and non-retriable Wharf errors are thrown at once.
 *
 * Thrown: the last error when retries run out, or the abort reason when `signal` aborts.
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const { retries = 5, shouldRetry = isRetriable, onRetry, signal, sleep = abortableSleep } = options;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await operation(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (attempt >= retries || !shouldRetry(error)) throw error;
      const delay = backoffDelay(attempt + 1, options);
      onRetry?.(error, attempt + 1, delay);
      await sleep(delay, signal);
    }
  }
}

/** Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
