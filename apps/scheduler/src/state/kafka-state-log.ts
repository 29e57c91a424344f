import { JobEvent, JobRecord, LaunchCommand, Topics, Workflow, WorkflowEvent, contentTypeOf, decodeMessage, type ContentType } from '@wharf/contracts';
import {
  ensureTopics,
  messageRecord,
  readToEnd,
  TransactionalProducer,
  UnavailableError,
  type KafkaClient,
  type Logger,
  type ProducerRecord,
} from '@wharf/platform';
import { partitionOf } from './murmur2-partitioner';
import type { CommitBatch, EventPosition, StateLog } from './state-log';

export interface KafkaStateLogOptions {
  readonly kafka: KafkaClient;
  readonly logger: Logger;
  /** Shared by every scheduler instance: a new writer fences the old one. */
  readonly transactionalId: string;
  readonly topics?: {
    readonly state?: string;
    readonly events?: string;
    readonly launch?: string;
    readonly workflows?: string;
    readonly workflowEvents?: string;
  };
  /** Partitions of topics this creates when missing. @default 3 */
  readonly partitions?: number;
  readonly transactionTimeoutMs?: number;
  /** Other topics the scheduler reads or writes, created with the state topics when missing. */
  readonly otherTopics?: readonly string[];
  /**
   * max.message.bytes of the topics this creates that carry job specs (jobs.state, job-events,
   * launch, workflows.state): a record holds a whole spec (up to limits.maxSpecBytes, 1 MiB)
   * plus its runs, a workflow record its spec plus task outputs, so the broker's 1 MiB default
   * is too tight for one record. Topics that exist are not changed. @default 8 MiB
   */
  readonly maxRecordBytes?: number;
  /**
   * Bytes of one partition's records in one produce request at most: a commit holding several
   * large records (two 700 KB fan-out specs submitted or admitted together) is sent in several
   * requests of the same transaction, so no record batch exceeds a topic's max.message.bytes
   * (1 MiB by default, on topics the scheduler did not create too). @default 900_000
   */
  readonly maxBatchBytes?: number;
}

/** Estimated bytes of a record in a record batch (key, value, headers and framing). */
function recordBytes(record: ProducerRecord): number {
  let bytes = 64 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) bytes += name.length + v.length + 8;
  }
  return bytes;
}

/**
 * Splits `records` (in order) into consecutive sends such that no partition (as named by
 * `partitionOfRecord`: a number, or any key such as topic and partition) receives more than
 * `maxBytes` in one send, unless a single record is larger. Records of a partition keep their
 * order: the sends go one after another.
 */
export function splitForSend<T extends ProducerRecord>(records: readonly T[], partitionOfRecord: (record: T) => number | string, maxBytes: number): T[][] {
  const sends: T[][] = [];
  let current: T[] = [];
  const used = new Map<number | string, number>();
  for (const record of records) {
    const partition = partitionOfRecord(record);
    const size = recordBytes(record);
    const before = used.get(partition) ?? 0;
    if (before > 0 && before + size > maxBytes) {
      sends.push(current);
      current = [];
      used.clear();
    }
    current.push(record);
    used.set(partition, (used.get(partition) ?? 0) + size);
  }
  if (current.length > 0) sends.push(current);
  return sends;
}

/**
 * The retry of the transactional producer. Right after a commit the broker still writes the
 * transaction markers, and the next transaction's first request is answered
 * CONCURRENT_TRANSACTIONS for a few milliseconds; with the client's default retry (300 ms
 * first delay) every back-to-back transaction would wait 300 ms. The Java client uses a 20 ms
 * backoff here; this starts at 3 ms and grows 1.25× per retry, capped at 1 s, 40 retries.
 */
export const stateProducerRetry = { initialRetryTime: 3, maxRetryTime: 1_000, retries: 40, factor: 0.2, multiplier: 1.25 };

/** A record of one commit, with the topic it goes to. */
type TopicRecord = ProducerRecord & { readonly topic: string };

/**
 * The state log on Kafka: one transaction per commit over wharf.jobs.state (compacted),
 * wharf.job-events and wharf.launch, with a transactional id shared by all scheduler instances,
 * so the newest writer fences the older one (ADR 0004). Readers (restore, job-launcher) read
 * committed records only, so a batch is either all there or not at all.
 */
export class KafkaStateLog implements StateLog {
  private producer: TransactionalProducer | undefined;
  private eventPartitions = 0;
  /** Partition count per topic, to keep each partition's share of a produce request bounded. */
  private partitionCounts = new Map<string, number>();
  private readonly topics: { state: string; events: string; launch: string; workflows: string; workflowEvents: string };

  constructor(private readonly options: KafkaStateLogOptions) {
    this.topics = {
      state: options.topics?.state ?? Topics.jobsState,
      events: options.topics?.events ?? Topics.jobEvents,
      launch: options.topics?.launch ?? Topics.launch,
      workflows: options.topics?.workflows ?? Topics.workflowsState,
      workflowEvents: options.topics?.workflowEvents ?? Topics.workflowEvents,
    };
  }

  async open(): Promise<void> {
    const partitions = this.options.partitions ?? 3;
    const admin = this.options.kafka.admin();
    try {
      const maxMessageBytes = this.options.maxRecordBytes ?? 8 * 1024 * 1024;
      await ensureTopics(admin, [
        { topic: this.topics.state, partitions, compacted: true, maxMessageBytes },
        { topic: this.topics.events, partitions, maxMessageBytes },
        { topic: this.topics.launch, partitions, maxMessageBytes },
        { topic: this.topics.workflows, partitions, compacted: true, maxMessageBytes },
        { topic: this.topics.workflowEvents, partitions },
        ...(this.options.otherTopics ?? []).map((topic) => ({ topic, partitions })),
      ]);
      const written = [this.topics.state, this.topics.events, this.topics.launch, this.topics.workflows, this.topics.workflowEvents];
      const metadata = await admin.fetchTopicMetadata({ topics: written });
      this.partitionCounts = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
      this.eventPartitions = this.partitionCounts.get(this.topics.events) ?? 0;
    } catch (error) {
      throw new UnavailableError('cannot prepare the state topics', { cause: error });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (this.eventPartitions < 1) throw new UnavailableError(`topic ${this.topics.events} has no partitions`);
    const producer = new TransactionalProducer({
      kafka: this.options.kafka,
      retry: stateProducerRetry,
      coordinatorCacheMs: 1_000,
      logger: this.options.logger,
      transactionalId: this.options.transactionalId,
      transactionTimeoutMs: this.options.transactionTimeoutMs ?? 30_000,
      name: 'state-log',
    });
    await producer.start();
    this.producer = producer;
  }

  async commit(batch: CommitBatch): Promise<EventPosition[]> {
    const producer = this.producer;
    if (!producer) throw new UnavailableError('the state log is not open');
    const { state, events, launch, workflows, workflowEvents } = this.topics;
    // Every topic of the commit in one list, encoded before the transaction starts; each send
    // below is one AddPartitionsToTxn and one Produce round trip for all topics together.
    const records: TopicRecord[] = [];
    for (const { jobId, record } of batch.records) {
      records.push(record ? { ...messageRecord(jobId, JobRecord, record), topic: state } : { key: jobId, value: null, topic: state });
    }
    for (const event of batch.events) {
      records.push({ ...messageRecord(event.jobId, JobEvent, event), partition: partitionOf(event.jobId, this.eventPartitions), topic: events });
    }
    for (const { jobId, command } of batch.commands) records.push({ ...messageRecord(jobId, LaunchCommand, command), topic: launch });
    for (const { workflowId, record } of batch.workflows ?? []) {
      records.push(record ? { ...messageRecord(workflowId, Workflow, record), topic: workflows } : { key: workflowId, value: null, topic: workflows });
    }
    for (const event of batch.workflowEvents ?? []) records.push({ ...messageRecord(event.workflowId, WorkflowEvent, event), topic: workflowEvents });
    const maxBytes = this.options.maxBatchBytes ?? 900_000;
    const sends = splitForSend(records, (r) => `${r.topic}\u0000${this.partitionOfRecord(r.topic, r)}`, maxBytes);
    return producer.runTransaction(async (tx) => {
      const positions: EventPosition[] = [];
      for (const send of sends) {
        const byTopic = new Map<string, ProducerRecord[]>();
        for (const record of send) {
          const list = byTopic.get(record.topic);
          if (list) list.push(record);
          else byTopic.set(record.topic, [record]);
        }
        const produced = await tx.sendBatch([...byTopic].map(([topic, list]) => ({ topic, records: list })));
        // Events: each send's records of one partition are written in order from its base offset.
        const eventRecords = byTopic.get(events);
        if (!eventRecords) continue;
        const next = new Map<number, bigint>();
        for (const p of produced) if (p.topic === events) next.set(p.partition, BigInt(p.baseOffset));
        for (const record of eventRecords) {
          const partition = record.partition as number;
          const offset = next.get(partition) ?? -1n;
          next.set(partition, offset + 1n);
          positions.push({ partition, offset: offset.toString() });
        }
      }
      return positions;
    });
  }

  /** The partition the default partitioner picks for a keyed record (0 when the count is unknown: bounded as one). */
  private partitionOfRecord(topic: string, record: ProducerRecord): number {
    if (record.partition !== undefined) return record.partition;
    const count = this.partitionCounts.get(topic) ?? 0;
    if (count < 1 || record.key === null) return 0;
    return partitionOf(typeof record.key === 'string' ? record.key : record.key.toString('utf8'), count);
  }

  async readRecords(onRecord: (jobId: string, record: JobRecord | null) => void): Promise<number> {
    return this.readEncodedRecords((jobId, encoded) =>
      onRecord(jobId, encoded && decodeMessage(JobRecord, 'JobRecord', encoded.bytes, encoded.contentType)),
    );
  }

  async readEncodedRecords(onRecord: (jobId: string, encoded: { readonly bytes: Uint8Array; readonly contentType: ContentType } | null) => void): Promise<number> {
    return readToEnd(
      this.options.kafka,
      this.topics.state,
      (r) => {
        if (!r.key) return;
        const jobId = r.key.toString('utf8');
        if (r.value === null) onRecord(jobId, null);
        else onRecord(jobId, { bytes: r.value, contentType: contentTypeOf(r.headers, r.value) });
      },
      { logger: this.options.logger },
    );
  }

  async readEvents(onEvent: (event: JobEvent, position: EventPosition) => void): Promise<number> {
    return readToEnd(
      this.options.kafka,
      this.topics.events,
      (r) => {
        if (r.value === null) return;
        onEvent(decodeMessage(JobEvent, 'JobEvent', r.value, contentTypeOf(r.headers, r.value)), {
          partition: r.partition,
          offset: r.offset,
        });
      },
      { logger: this.options.logger },
    );
  }

  async readWorkflows(onRecord: (workflowId: string, record: Workflow | null) => void): Promise<number> {
    return readToEnd(
      this.options.kafka,
      this.topics.workflows,
      (r) => {
        if (!r.key) return;
        const workflowId = r.key.toString('utf8');
        if (r.value === null) onRecord(workflowId, null);
        else onRecord(workflowId, decodeMessage(Workflow, 'Workflow', r.value, contentTypeOf(r.headers, r.value)));
      },
      { logger: this.options.logger },
    );
  }

  async readWorkflowEvents(onEvent: (event: WorkflowEvent) => void): Promise<number> {
    return readToEnd(
      this.options.kafka,
      this.topics.workflowEvents,
      (r) => {
        if (r.value !== null) onEvent(decodeMessage(WorkflowEvent, 'WorkflowEvent', r.value, contentTypeOf(r.headers, r.value)));
      },
      { logger: this.options.logger },
    );
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.stop().catch(() => undefined);
  }
}
