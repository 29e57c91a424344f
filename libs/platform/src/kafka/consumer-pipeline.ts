import { contentTypeOf, decodeMessage, dlqTopic, type MessageType } from '@wharf/contracts';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import { isProgrammingError, UnavailableError } from '../errors';
import type { Component } from '../lifecycle';
import type { Logger } from '../logger';
import { abortableSleep, backoffDelay, retry } from '../retry';
import { deadLetterRecord, isPoison } from './dead-letter';
import type { KafkaClient } from './kafka-client';
import { toKafkaError } from './kafka-errors';
import type { RecordSender } from './kafka-producer';
import { fromKafkaMessage, type KafkaRecord } from './kafka-record';
import { ensureTopics } from './topic-admin';

/** A consumed record with its decoded value. */
export interface ConsumedRecord<T> extends KafkaRecord {
  /** The decoded value; null for a tombstone; the raw value when the pipeline has no `message`. */
  readonly message: T | null;
}

export interface HandlerContext {
  /** 0 on the first try, then the number of the retry. */
  readonly attempt: number;
  /** Keeps the group membership alive during long work (kafkajs only heartbeats between records). */
  heartbeat(): Promise<void>;
  /** Aborted when the pipeline stops; the current call may still finish (its record is then committed). */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

export interface ConsumerPipelineOptions<T> {
  readonly kafka: KafkaClient;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without committed offsets starts. Starting at the end would skip whatever was
   * written before the group first joined. @default true */
  readonly fromBeginning?: boolean;
  /** Decode values as this contracts message (JSON or protobuf, by content-type). */
  readonly message?: { readonly type: MessageType<T>; readonly name: string };
  /**
   * Handles one record. Resolve = done (the offset will be committed). Throw a retriable error
   * (UnavailableError…) to have it retried with backoff until it passes; throw anything else
   * (InvalidArgumentError…) to park the record in `<topic>.dlq`. Must be idempotent: records are
   * delivered at least once.
   */
  readonly handle: (record: ConsumedRecord<T>, ctx: HandlerContext) => Promise<void>;
  /** Writes poison records. Started before this pipeline and stopped after it. */
  readonly dlq: RecordSender;
  /** Partitions of each `<topic>.dlq` created at start. @default 1 */
  readonly dlqPartitions?: number;
  readonly registry?: Registry;
  /** Backoff of retried handler calls and DLQ writes. Keep maxDelayMs below the session
   * timeout: the pipeline heartbeats between tries only. @default { minDelayMs: 200, maxDelayMs: 10_000 } */
  readonly retry?: { readonly minDelayMs?: number; readonly maxDelayMs?: number };
  /** @default { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, rebalanceTimeoutMs: 60_000 } */
  readonly session?: {
    readonly sessionTimeoutMs?: number;
    readonly heartbeatIntervalMs?: number;
    readonly rebalanceTimeoutMs?: number;
  };
  /** @default `consumer:<groupId>` */
  readonly name?: string;
  /**
   * Partitions whose records are handled at the same time (kafkajs
   * `partitionsConsumedConcurrently`). Within a partition — so for one key — records are still
   * handled one at a time, in offset order, and a partition's offset is resolved only up to its
   * last finished record. Handlers must then tolerate calls for different keys at once.
   * @default 1
   */
  readonly partitionConcurrency?: number;
  /**
   * Also commit the resolved offsets during a batch, at most this often (kafkajs
   * `autoCommitInterval`; checked after each finished record). Without it kafkajs commits when
   * a whole batch is done — and a batch can hold every waiting record of a partition (up to 1 MB
   * per partition by default), so a process that dies mid-batch has its successor handle the
   * whole batch again. @default undefined: at the end of each batch only
   */
  readonly commitIntervalMs?: number;
}

/**
 * max.message.bytes of the `<topic>.dlq` topics the pipeline creates: a parked record is the
 * original plus error headers, so it must fit where the original did, whatever limit its topic
 * has (wharf.launch takes 8 MiB). A DLQ is small and rarely written; the headroom costs nothing,
 * and a record too large for its DLQ would block its partition.
 */
export const dlqMaxMessageBytes = 16 * 1024 * 1024;

/** Marks a failed heartbeat (a rebalance): it must leave the batch, not be retried or dead-lettered. */
class HeartbeatFailed extends Error {
  override readonly name = 'HeartbeatFailed';
}

interface PipelineMetrics {
  readonly records: Counter<'group' | 'topic' | 'outcome'>;
  readonly retries: Counter<'group' | 'topic'>;
  readonly restarts: Counter<'group'>;
}

function metricsOf(registry: Registry | undefined): PipelineMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> => {
    const existing = registry?.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: registry ? [registry] : [] });
  };
  return {
    records: counter(
      'wharf_consumer_records_total',
      'Records finished, by outcome (handled, dead_lettered).',
      ['group', 'topic', 'outcome'],
    ),
    retries: counter(
      'wharf_consumer_handler_retries_total',
      'Handler calls retried after a retriable error.',
      ['group', 'topic'],
    ),
    restarts: counter(
      'wharf_consumer_restarts_total',
      'Consumer crashes (kafkajs or ours restarted it).',
      ['group'],
    ),
  };
}

/**
 * receive → decode → handle → commit, for one consumer group.
 *
 * Commit only after success: eachBatch with `eachBatchAutoResolve: false`; an offset is resolved
 * only after its handler succeeded (or its record was parked in the DLQ), and kafkajs commits
 * resolved offsets, never fetched ones, after each batch and when it leaves the group. We chose
 * eachBatch over eachMessage for `isRunning()`/`isStale()`: a stop or a rebalance ends the batch
 * after the current record instead of running the rest of an already-revoked batch.
 *
 * Concurrency: the batches of `partitionConcurrency` partitions run at once, one record in
 * flight per partition. A record being retried stops its partition at once and the others at the
 * end of their current batch (kafkajs fetches again only when every batch of a fetch is done).
 *
 * Failures: retriable handler errors are retried in place with backoff, forever (the partition
 * waits; `wharf_consumer_handler_retries_total` and a warning per retry show it). Poison
 * ({@link isPoison}) goes to `<topic>.dlq`; if that write fails it is retried and the offset is
 * not committed meanwhile. A kafkajs crash that kafkajs will not restart itself (restart:
 * false) is restarted here with backoff, so the service keeps consuming.
 *
 * Ready once the group is joined; stop finishes the in-flight record(s), commits, leaves the group.
 */
export class ConsumerPipeline<T = Buffer> implements Component {
  readonly name: string;
  private consumer: Consumer | undefined;
  private joined = false;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private readonly metrics: PipelineMetrics;

  constructor(private readonly options: ConsumerPipelineOptions<T>) {
    this.name = options.name ?? `consumer:${options.groupId}`;
    this.logger = options.logger.child({ component: this.name, groupId: options.groupId });
    this.metrics = metricsOf(options.registry);
  }

  /** Thrown: the mapped Kafka error when the first connect or subscribe fails. */
  async start(): Promise<void> {
    const admin = this.options.kafka.admin();
    try {
      const partitions = this.options.dlqPartitions ?? 1;
      await ensureTopics(
        admin,
        this.options.topics.map((topic) => ({
          topic: dlqTopic(topic),
          partitions,
          maxMessageBytes: dlqMaxMessageBytes,
        })),
      );
    } finally {
      await admin.disconnect();
    }
    await this.connectAndRun();
  }

  ready(): boolean {
    return this.joined && !this.stopping;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort(new UnavailableError('consumer pipeline stopping'));
    await this.restarting;
    // Waits for the running batch (which returns after its current record), commits the
    // resolved offsets and leaves the group.
    await this.consumer?.disconnect();
    this.joined = false;
  }

  private async connectAndRun(): Promise<void> {
    const { kafka, groupId, session = {} } = this.options;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: session.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: session.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: session.rebalanceTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.joined = true;
      this.logger.info('consumer joined its group');
    });
    consumer.on(consumer.events.CRASH, ({ payload }) =>
      this.onCrash(consumer, payload.error, payload.restart),
    );
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning ?? true,
      });
      await consumer.run({
        partitionsConsumedConcurrently: this.options.partitionConcurrency ?? 1,
        autoCommit: true,
        // Unset: kafkajs commits at the end of each batch only (commitOffsetsIfNecessary below
        // then never commits).
        ...(this.options.commitIntervalMs === undefined
          ? {}
          : { autoCommitInterval: this.options.commitIntervalMs }),
        eachBatchAutoResolve: false,
        eachBatch: (payload) => this.eachBatch(payload),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw toKafkaError(error, { groupId });
    }
  }

  private onCrash(consumer: Consumer, error: Error, kafkajsRestarts: boolean): void {
    if (consumer !== this.consumer) return;
    this.joined = false;
    this.metrics.restarts.inc({ group: this.options.groupId });
    if (this.stopping) return;
    if (kafkajsRestarts) {
      this.logger.warn({ err: error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    this.logger.error({ err: error }, 'consumer crashed; restarting it');
    this.restarting ??= this.restart().finally(() => (this.restarting = undefined));
  }

  /** Recreates the consumer with backoff until it runs again or the pipeline stops. */
  private async restart(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await abortableSleep(
          backoffDelay(attempt, { minDelayMs: 1_000, maxDelayMs: 30_000 }),
          this.abort.signal,
        );
      } catch {
        return; // stopping
      }
      await this.consumer?.disconnect().catch(() => undefined);
      try {
        await this.connectAndRun();
        return;
      } catch (error) {
        this.logger.error({ err: error, attempt }, 'consumer restart failed');
      }
    }
  }

  private async eachBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
    commitOffsetsIfNecessary,
  }: EachBatchPayload): Promise<void> {
    const beat = (): Promise<void> =>
      heartbeat().catch((error: unknown) => {
        throw new HeartbeatFailed('heartbeat failed', { cause: error });
      });
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) return;
      const record = fromKafkaMessage(batch.topic, batch.partition, message);
      try {
        if (!(await this.process(record, beat))) return;
        resolveOffset(message.offset);
        await beat();
        // Errors (a rebalance) leave the batch like a failed heartbeat: kafkajs rejoins.
        if (this.options.commitIntervalMs !== undefined) await commitOffsetsIfNecessary();
      } catch (error) {
        // kafkajs rejoins the group after a failed heartbeat; unresolved records are fetched again.
        throw error instanceof HeartbeatFailed ? error.cause : error;
      }
    }
  }

  /** True when the record is finished (handled or parked); false when stopping interrupted it. */
  private async process(record: KafkaRecord, heartbeat: () => Promise<void>): Promise<boolean> {
    const { signal } = this.abort;
    const labels = { group: this.options.groupId, topic: record.topic };
    const where = { topic: record.topic, partition: record.partition, offset: record.offset };
    try {
      const consumed = this.decode(record);
      await retry(
        async (attempt) => {
          if (attempt > 0) await heartbeat();
          await this.options.handle(consumed, { attempt, heartbeat, signal, logger: this.logger });
        },
        {
          ...this.backoff(),
          retries: Infinity,
          signal,
          shouldRetry: (error) => !(error instanceof HeartbeatFailed) && !isPoison(error),
          onRetry: (error, attempt, delayMs) => {
            this.metrics.retries.inc(labels);
            this.logger.warn(
              { ...where, err: error, attempt, delayMs },
              'handler failed; retrying the record',
            );
          },
        },
      );
      this.metrics.records.inc({ ...labels, outcome: 'handled' });
      return true;
    } catch (error) {
      if (signal.aborted && !(error instanceof HeartbeatFailed)) return false;
      if (!isPoison(error)) throw error;
      return this.deadLetter(record, error, heartbeat);
    }
  }

  private async deadLetter(
    record: KafkaRecord,
    error: unknown,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const { signal } = this.abort;
    const where = { topic: record.topic, partition: record.partition, offset: record.offset };
    const target = dlqTopic(record.topic);
    this.logger.warn(
      { ...where, err: error },
      'poison record; parking it in the dead-letter topic',
    );
    try {
      await retry(
        async (attempt) => {
          if (attempt > 0) await heartbeat();
          await this.options.dlq.send(target, [deadLetterRecord(record, error)]);
        },
        {
          ...this.backoff(),
          retries: Infinity,
          signal,
          shouldRetry: (e) => !(e instanceof HeartbeatFailed) && !isProgrammingError(e),
          onRetry: (e, attempt, delayMs) =>
            this.logger.error(
              { ...where, err: e, attempt, delayMs },
              'dead-letter write failed; retrying',
            ),
        },
      );
    } catch (dlqError) {
      if (signal.aborted && !(dlqError instanceof HeartbeatFailed)) return false;
      throw dlqError;
    }
    this.metrics.records.inc({
      group: this.options.groupId,
      topic: record.topic,
      outcome: 'dead_lettered',
    });
    return true;
  }

  private decode(record: KafkaRecord): ConsumedRecord<T> {
    const spec = this.options.message;
    if (record.value === null) return { ...record, message: null };
    // Without a message type, T is the default (Buffer): the record's own value.
    if (!spec) return { ...record, message: record.value as unknown as T };
    const contentType = contentTypeOf(record.headers, record.value);
    return { ...record, message: decodeMessage(spec.type, spec.name, record.value, contentType) };
  }

  private backoff(): { minDelayMs: number; maxDelayMs: number } {
    return {
      minDelayMs: this.options.retry?.minDelayMs ?? 200,
      maxDelayMs: this.options.retry?.maxDelayMs ?? 10_000,
    };
  }
}
