import { CliError, ExitCodes } from './cli-errors';
import { resumableWatch, type Timers } from './resumable-watch';

/** Timers whose timeouts fire when the test says so, and whose sleeps return at once. */
function manualTimers() {
  const pending: (() => void)[] = [];
  const timers: Timers = {
    setTimeout(callback) {
      let live = true;
      pending.push(() => live && callback());
      return { cancel: () => void (live = false) };
    },
    sleep: async () => undefined,
  };
  return { timers, fireAll: () => pending.splice(0).forEach((f) => f()) };
}

describe('resumableWatch', () => {
  it('reopens a stalled stream after the last sequence (watchdog)', async () => {
    const { timers, fireAll } = manualTimers();
    const opened: number[] = [];
    const seen: number[] = [];
    await resumableWatch<number>({
      timers,
      signal: new AbortController().signal,
      idleTimeoutMs: 1000,
      open: (after, signal) => {
        opened.push(after);
        return (async function* () {
          if (after === 0) {
            yield 1;
            // Silence: the watchdog must abort this stream.
            await new Promise<void>((resolve) => {
              signal.addEventListener('abort', () => resolve());
              setImmediate(fireAll);
            });
            return;
          }
          yield 2;
        })();
      },
      onMessage: (n) => {
        seen.push(n);
        return { sequence: n, done: n === 2 };
      },
    });
    expect(opened).toEqual([0, 1]);
    expect(seen).toEqual([1, 2]);
  });

  it('retries UNAVAILABLE with backoff and gives up after maxReconnects', async () => {
    const { timers } = manualTimers();
    let attempts = 0;
    const reconnects: string[] = [];
    await expect(
      resumableWatch<number>({
        timers,
        signal: new AbortController().signal,
        maxReconnects: 2,
        onReconnect: (reason) => reconnects.push(reason),
        open: () => {
          attempts++;
          return (async function* () {
            yield* [];
            throw new CliError('cannot reach the Wharf scheduler', ExitCodes.unavailable);
          })();
        },
        onMessage: () => ({ sequence: 0, done: false }),
      }),
    ).rejects.toThrow('gave up following the stream after 2 reconnects');
    expect(attempts).toBe(3);
    expect(reconnects).toHaveLength(2);
  });

  it('does not retry errors that retrying cannot fix', async () => {
    await expect(
      resumableWatch<number>({
        timers: manualTimers().timers,
        signal: new AbortController().signal,
        open: () =>
          (async function* () {
            yield* [];
            throw new CliError('not found: job x', ExitCodes.notFound);
          })(),
        onMessage: () => ({ sequence: 0, done: false }),
      }),
    ).rejects.toThrow('not found: job x');
  });
});
