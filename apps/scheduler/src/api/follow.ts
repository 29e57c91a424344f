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

/**
 * One page of `items` (any order) by creation time then id, after the position a previous
 * page's token names. Tokens are opaque to clients: `<created ms>/<id>`, base64url.
 */
export function pageOf<T>(
  items: readonly T[],
  keyOf: (item: T) => { readonly createdMs: number; readonly id: string },
  request: { readonly pageSize: number; readonly pageToken: string },
): { page: T[]; nextPageToken: string } {
  const size = pageSizeOf(request.pageSize);
  const sorted = [...items].sort((a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    return x.createdMs - y.createdMs || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  });
  let start = 0;
  if (request.pageToken !== '') {
    const [ms, id] = Buffer.from(request.pageToken, 'base64url').toString('utf8').split('/');
    if (ms === undefined || id === undefined || Number.isNaN(Number(ms))) {
      throw new InvalidArgumentError('invalid page token', [{ field: 'page_token', description: 'not a token from a previous page' }]);
    }
    start = sorted.findIndex((item) => {
      const k = keyOf(item);
      return k.createdMs > Number(ms) || (k.createdMs === Number(ms) && k.id > id);
    });
    if (start < 0) start = sorted.length;
  }
  const page = sorted.slice(start, start + size);
  const last = page[page.length - 1];
  const more = start + size < sorted.length && last !== undefined;
  const lastKey = last === undefined ? undefined : keyOf(last);
  return { page, nextPageToken: more && lastKey ? Buffer.from(`${lastKey.createdMs}/${lastKey.id}`).toString('base64url') : '' };
}
