import { systemClock, sleepOn, type Clock } from '../clock';

export interface RateLimiterOptions {
  /** Sustained requests per second. */
  readonly qps: number;
  /** Requests allowed at once after a quiet period. */
  readonly burst: number;
  /** Requests running at the same time (long watches excluded). @default Infinity */
  readonly maxConcurrent?: number;
  readonly clock?: Clock;
}

/**
 * A token bucket (QPS + burst, like client-go's) plus a bound on concurrent requests.
 * client-node has neither, and a controller relisting in a loop can flood the apiserver.
 *
 * Tokens are reserved in call order, so waiting callers are served first come, first served;
 * a reservation may drive the bucket negative, and each caller waits until its token exists.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly clock: Clock;

  constructor(private readonly options: RateLimiterOptions) {
    if (!(options.qps > 0) || !(options.burst >= 1)) {
      throw new RangeError('RateLimiter needs qps > 0 and burst >= 1');
    }
    this.clock = options.clock ?? systemClock;
    this.tokens = options.burst;
    this.last = this.clock.now();
  }

  /** Reserves a token now; returns how long the caller must wait before using it (ms). */
  reserve(): number {
    const now = this.clock.now();
    const { qps, burst } = this.options;
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) * qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / qps);
  }

  /** Waits for a token. For long-lived requests (watches) that must not hold a concurrency slot. */
  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await sleepOn(this.clock, wait, signal);
  }

  /** Waits for a token and a concurrency slot, runs `fn`, frees the slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.take(signal);
    await this.acquireSlot();
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private acquireSlot(): Promise<void> | void {
    if (this.running < (this.options.maxConcurrent ?? Infinity)) {
      this.running++;
      return;
    }
    // A finishing request wakes the first waiter synchronously, which takes the freed slot.
    return new Promise<void>((resolve) =>
      this.waiting.push(() => {
        this.running++;
        resolve();
      }),
    );
  }
}
