/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /** @default 50 */
  readonly intervalMs?: number;
  /** Used in the timeout error: "timed out after 10000 ms waiting for <description>". */
  readonly description?: string;
  /** Stop polling at once when this returns true (the condition can no longer hold). */
  readonly isFatal?: (error: unknown) => boolean;
}

/**
 * Polls `probe` until it returns without throwing, then returns its value.
 * Tests synchronise with this, never with sleeps: it waits exactly as long as needed.
 *
 * Thrown when the timeout passes: an Error naming what was awaited, with the probe's last
 * error as `cause`.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  options: EventuallyOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, description = 'a condition', isFatal } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
      if (isFatal?.(error)) break;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}: ${reason}`, {
    cause: lastError,
  });
}
