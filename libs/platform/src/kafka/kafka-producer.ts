import {
  ContentTypes,
  encodeMessage,
  RecordHeaders,
  type ContentType,
  type MessageType,
} from '@wharf/contracts';
import { type Producer, type RecordMetadata, type RetryOptions, type Transaction } from 'kafkajs';
import { NotLeaderError, UnavailableError } from '../errors';
import type { Component } from '../lifecycle';
import type { Logger } from '../logger';
import { withClusterFactory, type KafkaClient } from './kafka-client';
import { isFencedError, needsNewProducer, toKafkaError } from './kafka-errors';
import { toKafkaMessage, type ProducedOffset, type ProducerRecord } from './kafka-record';
import { StablePartitioner } from './stable-partitioner';

export interface KafkaProducerOptions {
  readonly kafka: KafkaClient;
  readonly logger: Logger;
  /** @default 'kafka-producer' */
  readonly name?: string;
  /** Per-request broker timeout of a send. @default 30_000 */
  readonly timeoutMs?: number;
}

/** What both producers can send: raw records, or a contracts message with its content type. */
export interface RecordSender {
  send(topic: string, records: readonly ProducerRecord[]): Promise<ProducedOffset[]>;
  sendMessage<T>(
    topic: string,
    key: string,
    type: MessageType<T>,
    message: T,
    contentType?: ContentType,
  ): Promise<ProducedOffset[]>;
}

/** Records for one topic, as part of a {@link TransactionSender.sendBatch}. */
export interface TopicRecords {
  readonly topic: string;
  readonly records: readonly ProducerRecord[];
}

/** What a transaction can send: {@link RecordSender}'s calls, plus several topics at once. */
export interface TransactionSender extends RecordSender {
  /**
   * Sends records of several topics in one produce request (one AddPartitionsToTxn and one
   * Produce round trip instead of one of each per topic). Records of a partition are written
   * in the given order; resolves with where each partition's records landed.
   */
  sendBatch(batch: readonly TopicRecords[]): Promise<ProducedOffset[]>;
}

/** A record carrying `message` encoded as `contentType`, with the `content-type` header set. */
export function messageRecord<T>(
  key: string,
  type: MessageType<T>,
  message: T,
  contentType: ContentType = ContentTypes.protobuf,
): ProducerRecord {
  return {
    key,
    value: encodeMessage(type, message, contentType),
    headers: { [RecordHeaders.contentType]: contentType },
  };
}

function offsetsOf(metadata: RecordMetadata[]): ProducedOffset[] {
  return metadata.map((m) => ({
    topic: m.topicName,
    partition: m.partition,
    baseOffset: m.baseOffset ?? '-1',
  }));
}

/**
 * Runs tasks one at a time per key, in call order.
 *
 * Why sends to one topic are serialized: when one partition of a multi-partition produce
 * request fails (NOT_LEADER right after a topic is created, say), kafkajs rolls back the
 * sequence numbers of every partition of the request, including those the broker already
 * wrote. A concurrent send can then reuse such a sequence number, and the broker drops its
 * records as duplicates while acknowledging them: silent loss, seen here as 33 lost and 33
 * duplicated records out of 500 (compare kafkajs#1005). One send at a time per topic (so per
 * partition) makes the retry reuse its own sequence numbers, which is what idempotence
 * deduplicates correctly. Batch records into one send for throughput.
 */
class PerKeyQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.runAll([key], task);
  }

  /** Runs `task` after every task queued under any of `keys`; later tasks of each key wait for it. */
  runAll<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const before = keys.map((key) =>
      (this.tails.get(key) ?? Promise.resolve()).catch(() => undefined),
    );
    const next = (before.length === 1 ? (before[0] as Promise<unknown>) : Promise.all(before)).then(
      task,
    );
    for (const key of keys) this.tails.set(key, next);
    const forget = (): void => {
      for (const key of keys) if (this.tails.get(key) === next) this.tails.delete(key);
    };
    next.then(forget, forget);
    return next;
  }
}

/**
 * The idempotent producer every service writes with: acks=all, at most 5 requests in flight
 * per connection (the most the broker's idempotence window keeps ordered) but one send at a
 * time per topic (see PerKeyQueue), murmur2 of the key (the Java client's choice) with keyless
 * records kept on their first partition across retries (see StablePartitioner). kafkajs wants unbounded retries
 * for idempotence; we bound them (see createKafka) so a caller is never stuck forever, and
 * accept kafkajs' warning about it: a send that fails after its retries may be re-sent by the
 * caller and duplicate, which at-least-once consumers handle anyway.
 *
 * After a fatal sequence error (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID) the kafkajs
 * producer cannot send again, so the next send replaces it with a new one.
 */
export class KafkaProducer implements Component, RecordSender {
  readonly name: string;
  private producer: Producer;
  private connected = false;
  private stopping = false;
  private broken = false;
  private replacing: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly perTopic = new PerKeyQueue();

  constructor(private readonly options: KafkaProducerOptions) {
    this.name = options.name ?? 'kafka-producer';
    this.producer = this.createProducer();
  }

  async start(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (error) {
      throw toKafkaError(error, { component: this.name });
    }
    this.connected = true;
  }

  ready(): boolean {
    return this.connected && !this.stopping;
  }

  /** Waits for in-flight sends, then disconnects. Sends after this are refused. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.inFlight]);
    this.connected = false;
    await this.producer.disconnect();
  }

  /**
   * Sends records to one topic with acks=all.
   *
   * Thrown: {@link UnavailableError} when the broker stayed unreachable (or the producer is
   * stopping), InvalidArgumentError when the broker rejected the records (too large…),
   * PermissionDeniedError on ACL denials.
   */
  send(topic: string, records: readonly ProducerRecord[]): Promise<ProducedOffset[]> {
    if (this.stopping) {
      return Promise.reject(new UnavailableError('producer is stopping', { context: { topic } }));
    }
    const sending = this.perTopic.run(topic, () => this.sendNow(topic, records));
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending)).catch(() => undefined);
    return sending;
  }

  /** Encodes `message` (protobuf by default) and sends it under `key`. Thrown: as {@link send}. */
  sendMessage<T>(
    topic: string,
    key: string,
    type: MessageType<T>,
    message: T,
    contentType: ContentType = ContentTypes.protobuf,
  ): Promise<ProducedOffset[]> {
    return this.send(topic, [messageRecord(key, type, message, contentType)]);
  }

  private async sendNow(
    topic: string,
    records: readonly ProducerRecord[],
  ): Promise<ProducedOffset[]> {
    if (this.broken) {
      this.replacing ??= this.replaceProducer().finally(() => (this.replacing = undefined));
      await this.replacing;
    }
    try {
      const metadata = await this.producer.send({
        topic,
        messages: records.map(toKafkaMessage),
        acks: -1,
        timeout: this.options.timeoutMs ?? 30_000,
      });
      return offsetsOf(metadata);
    } catch (error) {
      if (needsNewProducer(error)) this.broken = true;
      throw toKafkaError(error, { topic });
    }
  }

  private async replaceProducer(): Promise<void> {
    this.options.logger.warn(
      { component: this.name },
      'replacing the kafka producer after a fatal sequence error',
    );
    const old = this.producer;
    this.producer = this.createProducer();
    this.broken = false;
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
  }

  private createProducer(): Producer {
    return this.options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      createPartitioner: StablePartitioner,
      // Topics are created on purpose (ensureTopics); a typo must fail, not create a topic.
      allowAutoTopicCreation: false,
    });
  }
}

export interface TransactionalProducerOptions extends KafkaProducerOptions {
  /** The single-writer identity: every instance of one logical writer uses the same id. */
  readonly transactionalId: string;
  /** Broker aborts a transaction left open this long. @default 60_000 */
  readonly transactionTimeoutMs?: number;
  /**
   * The producer's retry policy (kafkajs RetryOptions), instead of the client's, for sends and
   * for InitProducerId (the fencing at start, see withProducerCluster). A writer
   * that runs transactions back to back wants a short first delay: right after a commit the
   * broker answers the next transaction's first request CONCURRENT_TRANSACTIONS for a few
   * milliseconds, and the client's default waits 300 ms (the Java client: 20 ms).
   * @default the client's
   */
  readonly retry?: RetryOptions;
  /**
   * Remembers the transaction coordinator this long instead of asking for it (FindCoordinator)
   * before every AddPartitionsToTxn and EndTxn: two round trips fewer per transaction. A moved
   * coordinator answers NOT_COORDINATOR until the entry expires, which the producer retries.
   * 0 or absent: ask every time (kafkajs' behaviour).
   */
  readonly coordinatorCacheMs?: number;
}

interface ClusterLike {
  retry?: RetryOptions;
  findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<unknown>;
}

/**
 * `kafka` as seen by `kafka.producer()`, except that the cluster it creates for the producer
 * - caches findGroupCoordinator answers for `coordinatorCacheMs` (when > 0), and
 * - carries `retry` as its retry policy, which kafkajs' transaction manager reads for
 *   InitProducerId (otherwise kafkajs' built-in 300 ms doubling: a new writer fencing a dead
 *   one waits that long after each CONCURRENT_TRANSACTIONS while the old transaction aborts).
 * kafkajs keeps its cluster factory under a private symbol; when it is not found (another
 * kafkajs version), `kafka` is returned unchanged.
 */
export function withProducerCluster(
  kafka: KafkaClient,
  options: { readonly coordinatorCacheMs?: number; readonly retry?: RetryOptions },
): KafkaClient {
  const ttlMs = options.coordinatorCacheMs ?? 0;
  return withClusterFactory(kafka, (clusterOptions, create) => {
    const cluster = create(clusterOptions) as ClusterLike;
    if (options.retry) cluster.retry = options.retry;
    if (ttlMs <= 0) return cluster;
    const find = cluster.findGroupCoordinator.bind(cluster);
    const cache = new Map<string, { until: number; broker: Promise<unknown> }>();
    cluster.findGroupCoordinator = (args) => {
      const key = `${args.coordinatorType ?? 0}:${args.groupId}`;
      const now = Date.now();
      const hit = cache.get(key);
      if (hit && hit.until > now) return hit.broker;
      const broker = find(args);
      cache.set(key, { until: now + ttlMs, broker });
      broker.catch(() => {
        if (cache.get(key)?.broker === broker) cache.delete(key);
      });
      return broker;
    };
    return cluster;
  });
}

/**
 * A transactional producer for a single writer. Starting it registers `transactionalId` with
 * the broker, which fences every older producer with the same id: the older one's next
 * transaction fails with {@link NotLeaderError}, and it stays fenced (stop it; create a new
 * one if this instance becomes the writer again).
 */
export class TransactionalProducer implements Component {
  readonly name: string;
  private readonly producer: Producer;
  private connected = false;
  private fenced = false;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: TransactionalProducerOptions) {
    this.name = options.name ?? 'kafka-transactional-producer';
    const kafka =
      options.coordinatorCacheMs || options.retry
        ? withProducerCluster(options.kafka, options)
        : options.kafka;
    this.producer = kafka.producer({
      idempotent: true,
      // kafkajs requires one request in flight for transactions.
      maxInFlightRequests: 1,
      transactionalId: options.transactionalId,
      transactionTimeout: options.transactionTimeoutMs ?? 60_000,
      createPartitioner: StablePartitioner,
      allowAutoTopicCreation: false,
      ...(options.retry ? { retry: options.retry } : {}),
    });
  }

  /** Connects and takes over the transactional id (fencing older holders) right away. */
  async start(): Promise<void> {
    try {
      await this.producer.connect();
      // An empty transaction sends InitProducerId, which bumps the epoch: the fencing moment.
      const transaction = await this.producer.transaction();
      await transaction.abort();
    } catch (error) {
      throw this.mapError(error);
    }
    this.connected = true;
  }

  ready(): boolean {
    return this.connected && !this.fenced;
  }

  isFenced(): boolean {
    return this.fenced;
  }

  async stop(): Promise<void> {
    await this.running.catch(() => undefined);
    this.connected = false;
    await this.producer.disconnect();
  }

  /**
   * Runs `fn` in a transaction: commits when it resolves, aborts when it throws. Transactions
   * run one at a time, in call order.
   *
   * Thrown: {@link NotLeaderError} when a newer producer with the same transactional id fenced
   * this one (now and on every later call); otherwise what `fn` threw, or the mapped Kafka
   * error of the commit.
   */
  runTransaction<R>(fn: (tx: TransactionSender) => Promise<R>): Promise<R> {
    const run = this.running.catch(() => undefined).then(() => this.runNow(fn));
    this.running = run;
    return run;
  }

  private async runNow<R>(fn: (tx: TransactionSender) => Promise<R>): Promise<R> {
    if (this.fenced) throw this.fencedError();
    let transaction: Transaction;
    try {
      transaction = await this.producer.transaction();
    } catch (error) {
      throw this.mapError(error);
    }
    const timeout = this.options.timeoutMs ?? 30_000;
    const perTopic = new PerKeyQueue();
    const sender: TransactionSender = {
      sendBatch: (batch) => {
        const parts = batch.filter((b) => b.records.length > 0);
        if (parts.length === 0) return Promise.resolve([]);
        const topics = [...new Set(parts.map((b) => b.topic))];
        return perTopic.runAll(topics, async () => {
          try {
            return offsetsOf(
              await transaction.sendBatch({
                topicMessages: parts.map((b) => ({
                  topic: b.topic,
                  messages: b.records.map(toKafkaMessage),
                })),
                acks: -1,
                timeout,
              }),
            );
          } catch (error) {
            throw this.mapError(error, { topics });
          }
        });
      },
      send: (topic, records) =>
        perTopic.run(topic, async () => {
          try {
            return offsetsOf(
              await transaction.send({
                topic,
                messages: records.map(toKafkaMessage),
                acks: -1,
                timeout,
              }),
            );
          } catch (error) {
            throw this.mapError(error, { topic });
          }
        }),
      sendMessage: (topic, key, type, message, contentType) =>
        sender.send(topic, [messageRecord(key, type, message, contentType)]),
    };
    let result: R;
    try {
      result = await fn(sender);
    } catch (error) {
      if (transaction.isActive()) {
        await transaction.abort().catch((abortError: unknown) => {
          // Mapping records a fencing seen only by the abort.
          this.mapError(abortError);
          this.options.logger.warn({ err: abortError }, 'transaction abort failed');
        });
      }
      throw this.fenced && !(error instanceof NotLeaderError) ? this.fencedError(error) : error;
    }
    try {
      await transaction.commit();
    } catch (error) {
      throw this.mapError(error);
    }
    return result;
  }

  private mapError(error: unknown, context: Record<string, unknown> = {}): unknown {
    if (isFencedError(error)) {
      if (!this.fenced) {
        this.options.logger.warn(
          { transactionalId: this.options.transactionalId },
          'producer fenced by a newer instance with the same transactional id',
        );
      }
      this.fenced = true;
      return this.fencedError(error);
    }
    return toKafkaError(error, { transactionalId: this.options.transactionalId, ...context });
  }

  private fencedError(cause?: unknown): NotLeaderError {
    return new NotLeaderError(
      'this producer was fenced by a newer one with the same transactional id',
      {
        cause,
        context: { transactionalId: this.options.transactionalId },
      },
    );
  }
}
