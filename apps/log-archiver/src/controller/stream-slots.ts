/**
 * A counting semaphore for log streams shared by every job being archived: jobs wait at their
 * own barrier (the manifest comes after their slowest log), so a per-job limit alone leaves the
 * store idle while a big log finishes; a shared limit keeps `limit` streams busy.
 */
export class StreamSlots {
  private free: number;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {
    this.free = limit;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    }
  }
}
