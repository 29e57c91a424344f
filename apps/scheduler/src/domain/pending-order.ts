import { comparePending, Heap, type PendingJob, type PendingJobs } from './queue-admission';

const pendingLess = (a: PendingJob, b: PendingJob): boolean => comparePending(a, b) < 0;

/**
 * A queue's waiting jobs, kept in admission order across cycles: a binary heap beside a map by
 * id. Adding costs O(log n) (O(1) for a job that queues behind the others, the common case);
 * removing costs O(1): the heap keeps the removed job until it reaches the top or the heap is
 * rebuilt, once it holds more removed jobs than waiting ones. An admission cycle reads only the
 * heads it looks at (`ordered`), not every waiting job.
 */
export class PendingOrder implements PendingJobs {
  private readonly byId = new Map<string, PendingJob>();
  private heap = new Heap<PendingJob>([], pendingLess);

  static of(jobs: Iterable<PendingJob>): PendingOrder {
    const order = new PendingOrder();
    for (const job of jobs) order.add(job);
    return order;
  }

  get size(): number {
    return this.byId.size;
  }

  get(jobId: string): PendingJob | undefined {
    return this.byId.get(jobId);
  }

  /** Adds a job, or replaces the waiting job of the same id. */
  add(job: PendingJob): void {
    this.byId.set(job.jobId, job);
    this.heap.push(job);
  }

  delete(jobId: string): void {
    if (!this.byId.delete(jobId)) return;
    if (this.heap.size > 2 * this.byId.size + 1_024) this.heap = new Heap([...this.byId.values()], pendingLess);
  }

  values(): IterableIterator<PendingJob> {
    return this.byId.values();
  }

  /**
   * The waiting jobs in admission order (comparePending), one at a time: a walk of the heap that
   * takes the least of the nodes whose parents it has passed, O(log k) per job for the first k.
   * Do not add or delete jobs while iterating.
   */
  *ordered(): Generator<PendingJob, void, undefined> {
    const heap = this.heap;
    while (heap.size > 0 && !this.isWaiting(heap.peek() as PendingJob)) heap.pop();
    if (heap.size === 0) return;
    const frontier = new Heap<number>([0], (a, b) => pendingLess(heap.at(a), heap.at(b)));
    while (frontier.size > 0) {
      const i = frontier.pop() as number;
      const job = heap.at(i);
      if (this.isWaiting(job)) yield job;
      const left = 2 * i + 1;
      if (left < heap.size) frontier.push(left);
      if (left + 1 < heap.size) frontier.push(left + 1);
    }
  }

  /** False for a job since removed or replaced (the heap still holds it). */
  private isWaiting(job: PendingJob): boolean {
    return this.byId.get(job.jobId) === job;
  }
}
