/**
 * A work queue like client-go's: a key added many times before it runs runs once (coalescing),
 * one key never runs twice at once (a key added while running runs again afterwards), and at
 * most `concurrency` keys run at the same time. Failed work is retried after `retryDelayMs`.
 */
export interface KeyedWorkQueueOptions {
  readonly concurrency: number;
  readonly work: (key: string) => Promise<void>;
  /** Delay before a failed key runs again (attempt is 1-based). */
  readonly retryDelayMs: (attempt: number) => number;
  readonly onError?: (key: string, error: unknown, attempt: number) => void;
  /** Injected for tests. @default setTimeout */
  readonly setTimer?: (fn: () => void, ms: number) => () => void;
}

export class KeyedWorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, () => void>();
  private readonly idleWaiters: (() => void)[] = [];
  private active = 0;
  private stopped = false;

  constructor(private readonly options: KeyedWorkQueueOptions) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.pump();
  }

  /** Keys waiting, running or waiting for a retry. */
  size(): number {
    return this.queued.size + this.running.size + this.timers.size;
  }

  /** Resolves when nothing is queued or running (retries waiting on a timer do not count). */
  idle(): Promise<void> {
    if (this.queued.size === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops queued keys and retry timers; waits for running work. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.length = 0;
    this.queued.clear();
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    await this.idle();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.options.concurrency && this.pending.length > 0) {
      const key = this.pending.shift() as string;
      this.queued.delete(key);
      this.running.add(key);
      this.active++;
      void this.runKey(key);
    }
    if (this.active === 0 && this.queued.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async runKey(key: string): Promise<void> {
    try {
      await this.options.work(key);
      this.failures.delete(key);
    } catch (error) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.options.onError?.(key, error, attempt);
      if (!this.stopped && !this.timers.has(key)) {
        const setTimer =
          this.options.setTimer ??
          ((fn: () => void, ms: number) => {
            const t = setTimeout(fn, ms);
            return () => clearTimeout(t);
          });
        this.timers.set(
          key,
          setTimer(() => {
            this.timers.delete(key);
            this.add(key);
          }, this.options.retryDelayMs(attempt)),
        );
      }
    } finally {
      this.running.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
