import { JobState, type JobRecord } from '@wharf/contracts';
import { isRunTerminal, isTerminal } from '../domain/job-reducer';
import { addDemand, zeroDemand, type Demand, type Limits, type QueueConfig } from '../domain/queue-config';
import type { AdmissionSnapshot, PendingJob, QueueSnapshot } from '../domain/queue-admission';
import { demandOf } from '../domain/spec-validator';

interface QueueIndex {
  readonly pending: Map<string, PendingJob>;
  /** Jobs holding quota (ADMITTED or RUNNING). */
  readonly holding: Map<string, Demand>;
}

export interface ListFilter {
  readonly tenant?: string;
  readonly queue?: string;
  readonly namespace?: string;
  readonly states?: readonly JobState[];
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The scheduler's in-memory view of every job: the materialised `wharf.jobs.state` changelog,
 * with the indexes admission needs (waiting jobs and quota held, per queue) kept up to date on
 * every put, so a snapshot costs O(queues), not O(jobs).
 */
export class JobStore {
  private readonly records = new Map<string, JobRecord>();
  private readonly queues = new Map<string, QueueIndex>();
  private seq = 0;

  get size(): number {
    return this.records.size;
  }

  get(jobId: string): JobRecord | undefined {
    return this.records.get(jobId);
  }

  /** Stores the newest record of a job (a restore or a committed transition). */
  put(record: JobRecord): void {
    const previous = this.records.get(record.jobId);
    if (previous) this.unindex(previous);
    this.records.set(record.jobId, record);
    this.index(record);
  }

  remove(jobId: string): void {
    const previous = this.records.get(jobId);
    if (!previous) return;
    this.unindex(previous);
    this.records.delete(jobId);
  }

  clear(): void {
    this.records.clear();
    this.queues.clear();
  }

  values(): IterableIterator<JobRecord> {
    return this.records.values();
  }

  list(filter: ListFilter): JobRecord[] {
    const out: JobRecord[] = [];
    const states = filter.states && filter.states.length > 0 ? new Set(filter.states) : undefined;
    const labels = filter.labels ? Object.entries(filter.labels) : [];
    for (const record of this.records.values()) {
      const spec = record.spec;
      if (filter.tenant !== undefined && record.tenant !== filter.tenant) continue;
      if (filter.queue && spec?.queue !== filter.queue) continue;
      if (filter.namespace && spec?.namespace !== filter.namespace) continue;
      if (states && !states.has(record.state)) continue;
      if (labels.some(([k, v]) => spec?.labels[k] !== v)) continue;
      out.push(record);
    }
    return out;
  }

  /** Admission's view of the moment: per configured queue, its waiting jobs and usage. */
  snapshot(queues: readonly QueueConfig[], capacity: Limits, maxAdmissions: number): AdmissionSnapshot {
    return { queues: queues.map((config) => this.queueSnapshot(config)), capacity, maxAdmissions };
  }

  queueSnapshot(config: QueueConfig): QueueSnapshot {
    const index = this.queues.get(config.name);
    if (!index) return { config, pending: [], used: zeroDemand, running: 0 };
    let used = zeroDemand;
    for (const demand of index.holding.values()) used = addDemand(used, demand);
    return { config, pending: [...index.pending.values()], used, running: index.holding.size };
  }

  /** ADMITTED jobs whose last run ended and whose retry backoff has passed. */
  dueRelaunches(now: Date): string[] {
    const due: string[] = [];
    for (const index of this.queues.values()) {
      for (const jobId of index.holding.keys()) {
        const record = this.records.get(jobId);
        if (!record || record.state !== JobState.JOB_STATE_ADMITTED) continue;
        const last = record.runs[record.runs.length - 1];
        if (!last || !isRunTerminal(last.state)) continue;
        if (!record.notBefore || record.notBefore.getTime() <= now.getTime()) due.push(jobId);
      }
    }
    return due;
  }

  /** Finished jobs whose retention has passed. */
  expired(now: Date, retentionMs: number, limit: number): string[] {
    const out: string[] = [];
    for (const record of this.records.values()) {
      if (out.length >= limit) break;
      if (!isTerminal(record.state)) continue;
      const finished = (record.finishedAt ?? record.updatedAt)?.getTime() ?? 0;
      if (finished + retentionMs <= now.getTime()) out.push(record.jobId);
    }
    return out;
  }

  private indexOf(queue: string): QueueIndex {
    let index = this.queues.get(queue);
    if (!index) {
      index = { pending: new Map(), holding: new Map() };
      this.queues.set(queue, index);
    }
    return index;
  }

  private index(record: JobRecord): void {
    const queue = record.spec?.queue ?? '';
    if (record.state === JobState.JOB_STATE_QUEUED) {
      this.indexOf(queue).pending.set(record.jobId, {
        jobId: record.jobId,
        priority: record.spec?.priority ?? 0,
        createdAtMs: record.createdAt?.getTime() ?? 0,
        seq: this.seq++,
        demand: demandOf(record.spec),
      });
    } else if (record.state === JobState.JOB_STATE_ADMITTED || record.state === JobState.JOB_STATE_RUNNING) {
      this.indexOf(queue).holding.set(record.jobId, demandOf(record.spec));
    }
  }

  private unindex(record: JobRecord): void {
    const index = this.queues.get(record.spec?.queue ?? '');
    if (!index) return;
    if (record.state === JobState.JOB_STATE_QUEUED) index.pending.delete(record.jobId);
    index.holding.delete(record.jobId);
  }
}
