/** What a handler may ask for after a pass. */
export interface WorkResult {
  /** Run this key again after this delay (backoff after a failure, or a poll). */
  readonly requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  /** Keys processed at once (never the same key twice at once). */
  readonly concurrency: number;
  readonly handler: (key: string) => Promise<WorkResult | void>;
  /** Called when a handler throws (it should not: handlers decide their own retries). */
  readonly onError?: (key: string, error: unknown) => void;
  /** Injected for tests. */
  readonly setTimer?: (fn: () => void, ms: number) => { unref?: () => void };
  readonly clearTimer?: (timer: unknown) => void;
}

/**
 * A work queue keyed by object (`namespace/name`), as controllers use them: a key is queued at
 * most once, processed by one worker at a time (per-key serialisation), and a key added while
 * it is being processed runs again right after (nothing is lost, nothing runs concurrently).
 * Delayed re-adds (backoff) are replaced by an immediate add.
 */
export class KeyedWorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, unknown>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly options: WorkQueueOptions) {}

  add(key: string): void {
    if (this.stopped) return;
    this.cancelTimer(key);
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds `key` after `ms`, unless it is added sooner. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    if (this.timers.has(key) || this.queued.has(key)) return;
    const setTimer = this.options.setTimer ?? ((fn, delay) => setTimeout(fn, delay));
    const timer = setTimer(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref?.();
    this.timers.set(key, timer);
  }

  /** Keys waiting (queued or delayed) plus in progress. */
  get size(): number {
    return new Set([...this.queued, ...this.active, ...this.timers.keys()]).size;
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** Resolves when nothing is queued or running (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work, cancels delayed keys, and waits for the keys in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const key of [...this.timers.keys()]) this.cancelTimer(key);
    this.queue.length = 0;
    this.queued.clear();
    await this.idle();
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.options.concurrency && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.active.add(key);
      void this.process(key);
    }
    if (this.queue.length === 0 && this.active.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async process(key: string): Promise<void> {
    let result: WorkResult | void = undefined;
    try {
      result = await this.options.handler(key);
    } catch (error) {
      this.options.onError?.(key, error);
    }
    this.active.delete(key);
    if (this.dirty.delete(key)) {
      this.add(key);
    } else if (result?.requeueAfterMs !== undefined) {
      this.addAfter(key, result.requeueAfterMs);
    }
    this.pump();
  }

  private cancelTimer(key: string): void {
    const timer = this.timers.get(key);
    if (timer === undefined) return;
    (this.options.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout)))(timer);
    this.timers.delete(key);
  }
}
