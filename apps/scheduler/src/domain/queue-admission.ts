/**
 * Admission: which queued jobs start now. A pure function of a snapshot (queues, their waiting
 * jobs and usage, the cluster capacity) and the time, so every decision is reproducible in a
 * unit test.
 *
 * - Within a queue: higher priority first, then FIFO (submit time, then submit order). The
 *   queue is strict: when its head does not fit, nothing behind it jumps the line (a big job is
 *   never starved by a stream of small ones).
 * - Across queues: weighted dominant resource fairness. The next admission goes to the queue
 *   with the lowest dominant share of the cluster (max over cpu, memory, gpu and running-job
 *   slots of used/capacity) divided by its weight. Under contention two queues with weights
 *   3:1 hold capacity, and so get admissions, in a 3:1 ratio.
 * - Never over a limit: a queue's quota (cpu, memory, gpu over requests × parallelism) and
 *   max running jobs, and the cluster capacity, are checked before each admission.
 * Cost: O(A (log A + log Q)) for A admissions over Q queues. Each queue's waiting jobs are
 *   kept in order across cycles (PendingOrder), so a cycle reads the heads it admits, not every
 *   waiting job.
 */
import { addDemand, zeroDemand, type Demand, type Limits, type QueueConfig } from './queue-config';
import { queueLimits } from './queue-config';

export interface PendingJob {
  readonly jobId: string;
  readonly priority: number;
  readonly createdAtMs: number;
  /** Submit order among jobs created in the same millisecond. */
  readonly seq: number;
  readonly demand: Demand;
}

/** A queue's waiting (QUEUED) jobs. */
export interface PendingJobs {
  readonly size: number;
  get(jobId: string): PendingJob | undefined;
  /** In any order. */
  values(): Iterable<PendingJob>;
  /** In admission order (comparePending), read lazily. */
  ordered(): Iterator<PendingJob>;
}

export interface QueueSnapshot {
  readonly config: QueueConfig;
  readonly pending: PendingJobs;
  /** Demand of the queue's admitted and running jobs. */
  readonly used: Demand;
  readonly running: number;
}

export interface AdmissionSnapshot {
  readonly queues: readonly QueueSnapshot[];
  readonly capacity: Limits;
  /** At most this many admissions per cycle (bounds one Kafka transaction). */
  readonly maxAdmissions: number;
}

export type BlockKind = 'quota' | 'max_running' | 'capacity';

export interface QueueBlock {
  readonly kind: BlockKind;
  readonly jobId: string;
  /** The resource that did not fit, for quota/capacity. */
  readonly resource?: 'cpu' | 'memory' | 'gpu' | 'jobs';
}

export interface AdmissionDecision {
  readonly admitted: readonly { readonly jobId: string; readonly queue: string }[];
  /** Why each queue with waiting jobs stopped admitting in this cycle. */
  readonly blocked: ReadonlyMap<string, QueueBlock>;
}

/** Order within a queue: priority desc, then created asc, then submit order, then id. */
export function comparePending(a: PendingJob, b: PendingJob): number {
  return b.priority - a.priority || a.createdAtMs - b.createdAtMs || a.seq - b.seq || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

/** used/capacity of the most-used dimension; 0 when every dimension is unlimited. */
export function dominantShare(used: Demand, running: number, capacity: Limits): number {
  const share = (value: number, limit: number): number => (Number.isFinite(limit) && limit > 0 ? value / limit : 0);
  return Math.max(
    share(used.cpu, capacity.cpu),
    share(used.memory, capacity.memory),
    share(used.gpu, capacity.gpu),
    share(running, capacity.maxRunning),
  );
}

export function weightedShare(used: Demand, running: number, capacity: Limits, weight: number): number {
  const dominant = dominantShare(used, running, capacity);
  // With an unlimited cluster, running jobs per weight keep queues taking turns.
  const base = dominant > 0 || anyFinite(capacity) ? dominant : running;
  return base / (weight > 0 ? weight : 1);
}

function anyFinite(l: Limits): boolean {
  return Number.isFinite(l.cpu) || Number.isFinite(l.memory) || Number.isFinite(l.gpu) || Number.isFinite(l.maxRunning);
}

/** The first dimension in which `used + demand` exceeds `limits` (running counts as `jobs`). */
export function exceeded(
  used: Demand,
  running: number,
  demand: Demand,
  limits: Limits,
): 'cpu' | 'memory' | 'gpu' | 'jobs' | undefined {
  const epsilon = 1e-9;
  if (running + 1 > limits.maxRunning) return 'jobs';
  if (used.cpu + demand.cpu > limits.cpu + epsilon) return 'cpu';
  if (used.memory + demand.memory > limits.memory) return 'memory';
  if (used.gpu + demand.gpu > limits.gpu) return 'gpu';
  return undefined;
}

/** A binary min-heap over `items` (taken over, reordered in place) by `less`. */
export class Heap<T> {
  constructor(
    private readonly items: T[],
    private readonly less: (a: T, b: T) => boolean,
  ) {
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }
  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  /** The item at position i of the heap's array (0 is the least; i < size). */
  at(i: number): T {
    return this.items[i] as T;
  }
  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i] as T, items[parent] as T)) break;
      [items[i], items[parent]] = [items[parent] as T, items[i] as T];
      i = parent;
    }
  }
  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }
  private down(start: number): void {
    const items = this.items;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.less(items[l] as T, items[m] as T)) m = l;
      if (r < items.length && this.less(items[r] as T, items[m] as T)) m = r;
      if (m === i) return;
      [items[i], items[m]] = [items[m] as T, items[i] as T];
      i = m;
    }
  }
}

interface QueueCursor {
  readonly name: string;
  readonly weight: number;
  readonly limits: Limits;
  /** The rest of the queue, in order; `head` is the first job not yet admitted. */
  readonly waiting: Iterator<PendingJob>;
  head: PendingJob;
  used: Demand;
  running: number;
  share: number;
}

/** Decides the admissions of one cycle. Pure; `now` is reserved for time-based policies. */
export function decideAdmissions(snapshot: AdmissionSnapshot, _now: Date): AdmissionDecision {
  const admitted: { jobId: string; queue: string }[] = [];
  const blocked = new Map<string, QueueBlock>();
  let clusterUsed: Demand = zeroDemand;
  let clusterRunning = 0;
  for (const q of snapshot.queues) {
    clusterUsed = addDemand(clusterUsed, q.used);
    clusterRunning += q.running;
  }
  const heap = new Heap<QueueCursor>([], (a, b) => a.share < b.share || (a.share === b.share && a.name < b.name));
  for (const q of snapshot.queues) {
    const waiting = q.pending.ordered();
    const first = waiting.next();
    if (first.done) continue;
    heap.push({
      name: q.config.name,
      weight: q.config.weight,
      limits: queueLimits(q.config),
      waiting,
      head: first.value,
      used: q.used,
      running: q.running,
      share: weightedShare(q.used, q.running, snapshot.capacity, q.config.weight),
    });
  }
  while (heap.size > 0 && admitted.length < snapshot.maxAdmissions) {
    const q = heap.pop() as QueueCursor;
    const head = q.head;
    const overQuota = exceeded(q.used, q.running, head.demand, q.limits);
    if (overQuota) {
      blocked.set(q.name, { kind: overQuota === 'jobs' ? 'max_running' : 'quota', jobId: head.jobId, resource: overQuota });
      continue;
    }
    const overCapacity = exceeded(clusterUsed, clusterRunning, head.demand, snapshot.capacity);
    if (overCapacity) {
      blocked.set(q.name, { kind: 'capacity', jobId: head.jobId, resource: overCapacity });
      continue;
    }
    admitted.push({ jobId: head.jobId, queue: q.name });
    q.used = addDemand(q.used, head.demand);
    q.running += 1;
    clusterUsed = addDemand(clusterUsed, head.demand);
    clusterRunning += 1;
    const next = q.waiting.next();
    if (!next.done) {
      q.head = next.value;
      q.share = weightedShare(q.used, q.running, snapshot.capacity, q.weight);
      heap.push(q);
    }
  }
  return { admitted, blocked };
}
