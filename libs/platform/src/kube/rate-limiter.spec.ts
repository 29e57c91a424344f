import { FakeClock, flushPromises } from '@wharf/testing';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows a burst, then one request per 1/qps seconds', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ qps: 10, burst: 3, clock });
    const waits = Array.from({ length: 6 }, () => limiter.reserve());
    expect(waits).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('refills the bucket with time, up to the burst', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ qps: 10, burst: 2, clock });
    limiter.reserve();
    limiter.reserve();
    await clock.advance(10_000);
    expect([limiter.reserve(), limiter.reserve(), limiter.reserve()]).toEqual([0, 0, 100]);
  });

  it('makes callers wait for their token, in call order', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ qps: 5, burst: 1, clock });
    const started: number[] = [];
    for (let i = 0; i < 4; i++) void limiter.run(async () => started.push(clock.now()));
    await clock.advance(1_000);
    const [t0 = 0] = started;
    expect(started.map((t) => t - t0)).toEqual([0, 200, 400, 600]);
  });

  it('bounds concurrent requests', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ qps: 1_000, burst: 1_000, maxConcurrent: 2, clock });
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const task = (): Promise<void> =>
      new Promise<void>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        releases.push(() => {
          running--;
          resolve();
        });
      });
    const all = Promise.all(Array.from({ length: 5 }, () => limiter.run(task)));
    await flushPromises();
    expect(running).toBe(2);
    for (let release = releases.shift(); release; release = releases.shift()) {
      release();
      await flushPromises();
    }
    await all;
    expect(peak).toBe(2);
  });

  it('gives up waiting when the signal aborts', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ qps: 1, burst: 1, clock });
    limiter.reserve();
    const controller = new AbortController();
    const waiting = limiter.take(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
