import { JobEvent, JobRecord, LaunchCommand, Topics, Workflow, WorkflowEvent, contentTypeOf, decodeMessage } from '@wharf/contracts';
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
}

type ProducerConfig = NonNullable<Parameters<KafkaClient['producer']>[0]>;

/**
 * The client the transactional producer is built from, with a fast retry. Right after a commit
 * the broker still writes the transaction markers, and the next transaction's first request is
 * answered CONCURRENT_TRANSACTIONS for a few milliseconds; with the client's default retry
 * (300 ms first delay) every back-to-back transaction would wait 300 ms. The Java client uses a
 * 20 ms backoff here. (Asked upstream: a `retry` option on the platform TransactionalProducer.)
 */
export function withFastRetry(kafka: KafkaClient): KafkaClient {
  return new Proxy(kafka, {
    get(target, property) {
      if (property === 'producer') {
        return (config: ProducerConfig) =>
          target.producer({ ...config, retry: { initialRetryTime: 3, maxRetryTime: 1_000, retries: 40, factor: 0.2, multiplier: 1.25 } });
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The state log on Kafka: one transaction per commit over wharf.jobs.state (compacted),
 * wharf.job-events and wharf.launch, with a transactional id shared by all scheduler instances,
 * so the newest writer fences the older one (ADR 0004). Readers (restore, job-launcher) read
 * committed records only, so a batch is either all there or not at all.
 */
export class KafkaStateLog implements StateLog {
  private producer: TransactionalProducer | undefined;
  private eventPartitions = 0;
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
      await ensureTopics(admin, [
        { topic: this.topics.state, partitions, compacted: true },
        { topic: this.topics.events, partitions },
        { topic: this.topics.launch, partitions },
        { topic: this.topics.workflows, partitions, compacted: true },
        { topic: this.topics.workflowEvents, partitions },
        ...(this.options.otherTopics ?? []).map((topic) => ({ topic, partitions })),
      ]);
      const metadata = await admin.fetchTopicMetadata({ topics: [this.topics.events] });
      this.eventPartitions = metadata.topics[0]?.partitions.length ?? 0;
    } catch (error) {
      throw new UnavailableError('cannot prepare the state topics', { cause: error });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (this.eventPartitions < 1) throw new UnavailableError(`topic ${this.topics.events} has no partitions`);
    const producer = new TransactionalProducer({
      kafka: withFastRetry(this.options.kafka),
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
    const stateRecords: ProducerRecord[] = batch.records.map(({ jobId, record }) =>
      record ? messageRecord(jobId, JobRecord, record) : { key: jobId, value: null },
    );
    const partitions = batch.events.map((event) => partitionOf(event.jobId, this.eventPartitions));
    const eventRecords: ProducerRecord[] = batch.events.map((event, i) => ({
      ...messageRecord(event.jobId, JobEvent, event),
      partition: partitions[i] as number,
    }));
    const launchRecords = batch.commands.map(({ jobId, command }) => messageRecord(jobId, LaunchCommand, command));
    const workflowRecords: ProducerRecord[] = (batch.workflows ?? []).map(({ workflowId, record }) =>
      record ? messageRecord(workflowId, Workflow, record) : { key: workflowId, value: null },
    );
    const workflowEventRecords = (batch.workflowEvents ?? []).map((event) => messageRecord(event.workflowId, WorkflowEvent, event));
    return producer.runTransaction(async (tx) => {
      if (stateRecords.length > 0) await tx.send(this.topics.state, stateRecords);
      const produced = eventRecords.length > 0 ? await tx.send(this.topics.events, eventRecords) : [];
      if (launchRecords.length > 0) await tx.send(this.topics.launch, launchRecords);
      if (workflowRecords.length > 0) await tx.send(this.topics.workflows, workflowRecords);
      if (workflowEventRecords.length > 0) await tx.send(this.topics.workflowEvents, workflowEventRecords);
      // Records of one partition are written in batch order from its base offset.
      const next = new Map<number, bigint>();
      for (const p of produced) next.set(p.partition, BigInt(p.baseOffset));
      return partitions.map((partition) => {
        const offset = next.get(partition) ?? -1n;
        next.set(partition, offset + 1n);
        return { partition, offset: offset.toString() };
      });
    });
  }

  async readRecords(onRecord: (jobId: string, record: JobRecord | null) => void): Promise<number> {
    return readToEnd(
      this.options.kafka,
      this.topics.state,
      (r) => {
        if (!r.key) return;
        const jobId = r.key.toString('utf8');
        if (r.value === null) onRecord(jobId, null);
        else onRecord(jobId, decodeMessage(JobRecord, 'JobRecord', r.value, contentTypeOf(r.headers, r.value)));
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
