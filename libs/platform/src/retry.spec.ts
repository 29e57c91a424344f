import { InvalidArgumentError, UnavailableError } from './errors';
import { backoffDelay, retry } from './retry';

const noSleep = async () => undefined;

describe('retry', () => {
  it('retries retriable failures until the operation succeeds', async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new UnavailableError('not yet');
        return 'done';
      },
      { sleep: noSleep },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('never retries programming errors or non-retriable errors', async () => {
    for (const error of [new TypeError('bug'), new InvalidArgumentError('bad input')]) {
      let calls = 0;
      await expect(
        retry(async () => {
          calls++;
          throw error;
        }, { sleep: noSleep }),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    }
  });

  it('gives up after the configured retries with the last error', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new UnavailableError(`attempt ${calls}`);
      }, { retries: 2, sleep: noSleep }),
    ).rejects.toThrow('attempt 3');
    expect(calls).toBe(3);
  });

  it('stops waiting as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const pending = retry(async () => {
      throw new UnavailableError('down');
    }, { retries: Infinity, minDelayMs: 60_000, signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
  });

  it('reports each retry with its delay', async () => {
    const delays: number[] = [];
    await retry(
      async (attempt) => {
        if (attempt < 3) throw new UnavailableError('down');
      },
      { sleep: noSleep, jitter: 0, minDelayMs: 100, onRetry: (_e, _n, delay) => delays.push(delay) },
    );
    expect(delays).toEqual([100, 200, 400]);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    const opts = { minDelayMs: 100, maxDelayMs: 1_000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads delays within the jitter band', () => {
    const opts = { minDelayMs: 1_000, jitter: 0.5 };
    expect(backoffDelay(1, { ...opts, random: () => 0 })).toBe(500);
    expect(backoffDelay(1, { ...opts, random: () => 0.999999 })).toBe(1500);
  });
});
