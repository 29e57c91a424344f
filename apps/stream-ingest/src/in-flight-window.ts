export interface InFlightLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
  /** Sources resume when both counts fell to this fraction of their limit. @default 0.5 */
  readonly resumeAt?: number;
}

/**
 * Backpressure for one stream: counts the records (and their bytes) a source handed over that
 * the sink has not acknowledged yet.
 *
 * Contract with sources: before reading more, a source checks {@link InFlightWindow.full}; when
 * it is full the source pauses (stops reading its socket, stops fetching, stops generating)
 * and waits for {@link InFlightWindow.whenOpen}. Nothing is buffered without bound: what can
 * be in memory is the limit plus what a source had already read when it noticed (one chunk or
 * one fetched batch). Hysteresis (resume at half) keeps a slow sink from toggling the source on
 * every record.
 */
export class InFlightWindow {
  records = 0;
  bytes = 0;
  private waiters: (() => void)[] = [];
  private readonly resumeAt: number;

  constructor(private readonly limits: InFlightLimits) {
    this.resumeAt = limits.resumeAt ?? 0.5;
  }

  get full(): boolean {
    return this.records >= this.limits.maxRecords || this.bytes >= this.limits.maxBytes;
  }

  /** True when a paused source may read again. */
  get open(): boolean {
    return (
      this.records <= this.limits.maxRecords * this.resumeAt && this.bytes <= this.limits.maxBytes * this.resumeAt
    );
  }

  add(bytes: number): void {
    this.records += 1;
    this.bytes += bytes;
  }

  release(bytes: number): void {
    this.releaseMany(1, bytes);
  }

  /** Releases `records` records of `bytes` bytes in all (a batch the sink acknowledged). */
  releaseMany(records: number, bytes: number): void {
    this.records -= records;
    this.bytes -= bytes;
    if (this.waiters.length > 0 && this.open) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves at once when not full, else once the window reopened (or `signal` aborted). */
  whenOpen(signal?: AbortSignal): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(signal?.reason);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
