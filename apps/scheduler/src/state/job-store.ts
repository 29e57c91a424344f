import { ContentTypes, decodeMessage, JobRecord, JobState, type ContentType } from '@wharf/contracts';
import { isRunTerminal, isTerminal } from '../domain/job-reducer';
import { addDemand, zeroDemand, type Demand, type Limits, type QueueConfig } from '../domain/queue-config';
import type { AdmissionSnapshot, PendingJob, QueueSnapshot } from '../domain/queue-admission';
import { demandOfResources } from '../domain/spec-validator';
import { summarizeJobRecord, type JobSummary } from './job-summary';

/** A restored job kept as its changelog bytes until something reads it (see JobStore.putEncoded). */
class EncodedJob {
  constructor(
    readonly bytes: Uint8Array,
    readonly summary: JobSummary,
  ) {}
}

type Entry = JobRecord | EncodedJob;

/** What the indexes and filters read of an entry, without decoding it. */
function fieldsOf(entry: Entry): JobSummary {
  if (entry instanceof EncodedJob) return entry.summary;
  const spec = entry.spec;
  return {
    tenant: entry.tenant,
    state: entry.state,
    queue: spec?.queue ?? '',
    namespace: spec?.namespace ?? '',
    priority: spec?.priority ?? 0,
    cpu: spec?.resources?.cpu ?? '',
    memory: spec?.resources?.memory ?? '',
    gpu: spec?.resources?.gpu ?? 0,
    parallelism: spec?.parallelism ?? 0,
    createdAtMs: entry.createdAt?.getTime() ?? 0,
    finishedOrUpdatedAtMs: (entry.finishedAt ?? entry.updatedAt)?.getTime() ?? 0,
  };
}

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
  /** Decoded records, or the bytes of restored ones nothing has read yet. */
  private readonly records = new Map<string, Entry>();
  private readonly queues = new Map<string, QueueIndex>();
  private seq = 0;

  get size(): number {
    return this.records.size;
  }

  get(jobId: string): JobRecord | undefined {
    const entry = this.records.get(jobId);
    if (!(entry instanceof EncodedJob)) return entry;
    // Decoded once; the indexes were built from the same bytes, so they stay as they are.
    const record = JobRecord.decode(entry.bytes);
    this.records.set(jobId, record);
    return record;
  }

  has(jobId: string): boolean {
    return this.records.has(jobId);
  }

  /** Stores the newest record of a job (a restore or a committed transition). */
  put(record: JobRecord): void {
    this.set(record.jobId, record);
  }

  /**
   * Stores a job restored from the changelog as its encoded bytes: only the fields the indexes
   * need are read now (see summarizeJobRecord); the record is decoded when first read. JSON
   * records are decoded at once. Thrown: DecodeError and the reader's errors on bad bytes.
   */
  putEncoded(jobId: string, bytes: Uint8Array, contentType: ContentType = ContentTypes.protobuf): void {
    if (contentType !== ContentTypes.protobuf) {
      this.set(jobId, decodeMessage(JobRecord, 'JobRecord', bytes, contentType));
      return;
    }
    this.set(jobId, new EncodedJob(bytes, summarizeJobRecord(bytes)));
  }

  private set(jobId: string, entry: Entry): void {
    const previous = this.records.get(jobId);
    if (previous) this.unindex(jobId, previous);
    this.records.set(jobId, entry);
    this.index(jobId, entry);
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

  /** Every job, decoding restored ones as they come. */
  *values(): IterableIterator<JobRecord> {
    for (const jobId of this.records.keys()) {
      const record = this.get(jobId);
      if (record) yield record;
    }
  }

  list(filter: ListFilter): JobRecord[] {
    const out: JobRecord[] = [];
    const states = filter.states && filter.states.length > 0 ? new Set(filter.states) : undefined;
    const labels = filter.labels ? Object.entries(filter.labels) : [];
    for (const [jobId, entry] of this.records) {
      // The cheap filters first, on the summary of a restored job: it is decoded only when it matches.
      const fields = entry instanceof EncodedJob ? entry.summary : undefined;
      const tenant = fields ? fields.tenant : (entry as JobRecord).tenant;
      const queue = fields ? fields.queue : (entry as JobRecord).spec?.queue;
      const namespace = fields ? fields.namespace : (entry as JobRecord).spec?.namespace;
      const state = fields ? fields.state : (entry as JobRecord).state;
      if (filter.tenant !== undefined && tenant !== filter.tenant) continue;
      if (filter.queue && queue !== filter.queue) continue;
      if (filter.namespace && namespace !== filter.namespace) continue;
      if (states && !states.has(state)) continue;
      const record = fields ? (this.get(jobId) as JobRecord) : (entry as JobRecord);
      if (labels.some(([k, v]) => record.spec?.labels[k] !== v)) continue;
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
        const entry = this.records.get(jobId);
        if (!entry || fieldsOf(entry).state !== JobState.JOB_STATE_ADMITTED) continue;
        const record = this.get(jobId) as JobRecord;
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
    for (const [jobId, entry] of this.records) {
      if (out.length >= limit) break;
      const state = entry instanceof EncodedJob ? entry.summary.state : entry.state;
      if (!isTerminal(state)) continue;
      const finished = entry instanceof EncodedJob ? entry.summary.finishedOrUpdatedAtMs : ((entry.finishedAt ?? entry.updatedAt)?.getTime() ?? 0);
      if (finished + retentionMs <= now.getTime()) out.push(jobId);
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

  private index(jobId: string, entry: Entry): void {
    const fields = fieldsOf(entry);
    if (fields.state === JobState.JOB_STATE_QUEUED) {
      this.indexOf(fields.queue).pending.set(jobId, {
        jobId,
        priority: fields.priority,
        createdAtMs: fields.createdAtMs,
        seq: this.seq++,
        demand: demandOfResources(fields.cpu, fields.memory, fields.gpu, fields.parallelism),
      });
    } else if (fields.state === JobState.JOB_STATE_ADMITTED || fields.state === JobState.JOB_STATE_RUNNING) {
      this.indexOf(fields.queue).holding.set(jobId, demandOfResources(fields.cpu, fields.memory, fields.gpu, fields.parallelism));
    }
  }

  private unindex(jobId: string, entry: Entry): void {
    const fields = fieldsOf(entry);
    const index = this.queues.get(fields.queue);
    if (!index) return;
    if (fields.state === JobState.JOB_STATE_QUEUED) index.pending.delete(jobId);
    index.holding.delete(jobId);
  }
}
