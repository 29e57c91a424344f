import { ContentTypes, decodeMessage, encodeProtobuf, JobRecord, JobState, type ContentType } from '@wharf/contracts';
import { isRunTerminal, isTerminal } from '../domain/job-reducer';
import { addDemand, zeroDemand, type Demand, type Limits, type QueueConfig } from '../domain/queue-config';
import { PendingOrder } from '../domain/pending-order';
import type { AdmissionSnapshot, QueueSnapshot } from '../domain/queue-admission';
import { demandOfResources } from '../domain/spec-validator';
import { summarizeJobRecord, summarizeRecord, type JobSummary } from './job-summary';
import { pack, unpack, type Packed } from './packed';

/** A job as the store keeps it: its protobuf bytes, packed, and the fields the indexes read. */
class StoredJob {
  constructor(
    readonly packed: Packed,
    readonly summary: JobSummary,
  ) {}

  static of(record: JobRecord): StoredJob {
    return new StoredJob(pack(encodeProtobuf(JobRecord, record)), summarizeRecord(record));
  }

  decode(): JobRecord {
    return JobRecord.decode(unpack(this.packed));
  }
}

interface QueueIndex {
  readonly pending: PendingOrder;
  /** Jobs holding quota (ADMITTED or RUNNING). */
  readonly holding: Map<string, Demand>;
  /** ADMITTED jobs whose last run ended: when their next run may start (ms; 0: at once). */
  readonly relaunchAt: Map<string, number>;
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
 *
 * Each job is kept encoded and decoded on every read (ADR 0012): a queued job costs its bytes
 * and a summary, not a tree of decoded objects, and callers get a record of their own.
 */
export class JobStore {
  private readonly records = new Map<string, StoredJob>();
  private readonly queues = new Map<string, QueueIndex>();
  private seq = 0;

  get size(): number {
    return this.records.size;
  }

  /** The job's record, decoded now: a fresh object on each call. */
  get(jobId: string): JobRecord | undefined {
    return this.records.get(jobId)?.decode();
  }

  has(jobId: string): boolean {
    return this.records.has(jobId);
  }

  /** Stores the newest record of a job (a restore or a committed transition). */
  put(record: JobRecord): void {
    this.set(record.jobId, StoredJob.of(record), record);
  }

  /**
   * Stores a job restored from the changelog from its bytes, without decoding it: only the
   * fields the indexes need are read (summarizeJobRecord). JSON records are decoded and stored
   * as protobuf. Thrown: DecodeError and the reader's errors on bad bytes.
   */
  putEncoded(jobId: string, bytes: Uint8Array, contentType: ContentType = ContentTypes.protobuf): void {
    if (contentType !== ContentTypes.protobuf) {
      this.set(jobId, StoredJob.of(decodeMessage(JobRecord, 'JobRecord', bytes, contentType)));
      return;
    }
    // Packing copies the bytes, so the fetched batch they point into is not kept alive.
    this.set(jobId, new StoredJob(pack(bytes), summarizeJobRecord(bytes)));
  }

  /** `record`: the decoded entry, when the caller has it. */
  private set(jobId: string, entry: StoredJob, record?: JobRecord): void {
    const previous = this.records.get(jobId);
    if (previous) this.unindex(jobId, previous);
    this.records.set(jobId, entry);
    this.index(jobId, entry, record);
  }

  remove(jobId: string): void {
    const previous = this.records.get(jobId);
    if (!previous) return;
    this.unindex(jobId, previous);
    this.records.delete(jobId);
  }

  clear(): void {
    this.records.clear();
    this.queues.clear();
  }

  /** Every job, each decoded as it comes. */
  *values(): IterableIterator<JobRecord> {
    for (const entry of this.records.values()) yield entry.decode();
  }

  list(filter: ListFilter): JobRecord[] {
    const out: JobRecord[] = [];
    const states = filter.states && filter.states.length > 0 ? new Set(filter.states) : undefined;
    const labels = filter.labels ? Object.entries(filter.labels) : [];
    for (const entry of this.records.values()) {
      // The cheap filters first, on the summary: a job is decoded only when they match.
      const { tenant, queue, namespace, state } = entry.summary;
      if (filter.tenant !== undefined && tenant !== filter.tenant) continue;
      if (filter.queue && queue !== filter.queue) continue;
      if (filter.namespace && namespace !== filter.namespace) continue;
      if (states && !states.has(state)) continue;
      const record = entry.decode();
      if (labels.some(([k, v]) => record.spec?.labels[k] !== v)) continue;
      out.push(record);
    }
    return out;
  }

  /**
   * Admission's view of the moment: per configured queue, its waiting jobs and usage. The
   * waiting jobs are the store's own ordered index, not a copy: use the snapshot before the
   * store changes again.
   */
  snapshot(queues: readonly QueueConfig[], capacity: Limits, maxAdmissions: number): AdmissionSnapshot {
    return { queues: queues.map((config) => this.queueSnapshot(config)), capacity, maxAdmissions };
  }

  queueSnapshot(config: QueueConfig): QueueSnapshot {
    const index = this.queues.get(config.name);
    if (!index) return { config, pending: new PendingOrder(), used: zeroDemand, running: 0 };
    let used = zeroDemand;
    for (const demand of index.holding.values()) used = addDemand(used, demand);
    return { config, pending: index.pending, used, running: index.holding.size };
  }

  /** ADMITTED jobs whose last run ended and whose retry backoff has passed. */
  dueRelaunches(now: Date): string[] {
    const due: string[] = [];
    for (const index of this.queues.values()) {
      for (const [jobId, at] of index.relaunchAt) if (at <= now.getTime()) due.push(jobId);
    }
    return due;
  }

  /** Finished jobs whose retention has passed. */
  expired(now: Date, retentionMs: number, limit: number): string[] {
    const out: string[] = [];
    for (const [jobId, { summary }] of this.records) {
      if (out.length >= limit) break;
      if (!isTerminal(summary.state)) continue;
      if (summary.finishedOrUpdatedAtMs + retentionMs <= now.getTime()) out.push(jobId);
    }
    return out;
  }

  private indexOf(queue: string): QueueIndex {
    let index = this.queues.get(queue);
    if (!index) {
      index = { pending: new PendingOrder(), holding: new Map(), relaunchAt: new Map() };
      this.queues.set(queue, index);
    }
    return index;
  }

  private index(jobId: string, entry: StoredJob, record?: JobRecord): void {
    const fields = entry.summary;
    if (fields.state === JobState.JOB_STATE_QUEUED) {
      this.indexOf(fields.queue).pending.add({
        jobId,
        priority: fields.priority,
        createdAtMs: fields.createdAtMs,
        seq: this.seq++,
        demand: demandOfResources(fields.cpu, fields.memory, fields.gpu, fields.parallelism),
      });
    } else if (fields.state === JobState.JOB_STATE_ADMITTED || fields.state === JobState.JOB_STATE_RUNNING) {
      const index = this.indexOf(fields.queue);
      index.holding.set(jobId, demandOfResources(fields.cpu, fields.memory, fields.gpu, fields.parallelism));
      if (fields.state === JobState.JOB_STATE_ADMITTED) {
        // Few jobs are ADMITTED at a time (quota bounds them): a restored one is decoded here.
        const { runs, notBefore } = record ?? entry.decode();
        const last = runs[runs.length - 1];
        if (last && isRunTerminal(last.state)) index.relaunchAt.set(jobId, notBefore?.getTime() ?? 0);
      }
    }
  }

  private unindex(jobId: string, entry: StoredJob): void {
    const fields = entry.summary;
    const index = this.queues.get(fields.queue);
    if (!index) return;
    if (fields.state === JobState.JOB_STATE_QUEUED) index.pending.delete(jobId);
    index.holding.delete(jobId);
    index.relaunchAt.delete(jobId);
  }
}
