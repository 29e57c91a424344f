import { InvalidArgumentError, ResourceExhaustedError } from '@wharf/platform';

/**
 * Streams `initial` then live items from `subscribe` until the call ends, with a heartbeat
 * whenever nothing was sent for `heartbeatMs`. Live items arriving while `initial` is sent
 * are buffered; a client that stops reading is cut off with RESOURCE_EXHAUSTED once
 * `maxBuffered` items wait.
 */
export async function follow<T>(
  signal: AbortSignal,
  subscribe: (push: (item: T) => void) => () => void,
  initial: readonly T[],
  send: (item: T) => Promise<void>,
  heartbeat: () => Promise<void>,
  heartbeatMs: number,
  maxBuffered: number,
): Promise<void> {
  const buffer: T[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = subscribe((item) => {
    buffer.push(item);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    for (const item of initial) await send(item);
    while (!signal.aborted) {
      if (buffer.length > maxBuffered) throw new ResourceExhaustedError(`watcher fell ${buffer.length} events behind; reconnect and resume`);
      const item = buffer.shift();
      if (item) {
        await send(item);
        continue;
      }
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), heartbeatMs);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      wake = undefined;
      if (timedOut && !signal.aborted) await heartbeat();
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

export function pageSizeOf(requested: number): number {
  if (requested < 0) throw new InvalidArgumentError('invalid page size', [{ field: 'page_size', description: 'must not be negative' }]);
  return requested === 0 ? 100 : Math.min(requested, 1_000);
}

