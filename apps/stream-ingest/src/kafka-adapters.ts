/**
 * Adapters from stream-ingest's ports to the platform's Kafka adapter. The only file of the
 * app that touches Kafka clients; everything else is written against ports.ts.
 *
 * The wharf.streams consumer uses the platform's kafkajs client directly because it needs what
 * the platform ConsumerPipeline does not offer: the group's partition assignment, and reading
 * every assigned partition from its beginning (no commits). See StreamSpecConsumer.
 */
import { ConsumerGroups, contentTypeOf, decodeMessage, StreamSpec, Topics } from '@wharf/contracts';
import {
  backoffDelay,
  ConsumerPipeline,
  describeError,
  ensureTopics,
  abortableSleep,
  toKafkaError,
  type Component,
  type KafkaClient,
  type Logger,
  type RecordSender,
} from '@wharf/platform';
import type { Registry } from 'prom-client';
import type { DesiredStateSink, TopicEnsurer } from './ports';
import type { TopicConsumerFactory } from './sources/kafka-topic-source';

/** Creates topics once per process (cached), through the platform's ensureTopics. */
export class KafkaTopicEnsurer implements TopicEnsurer, Component {
  readonly name = 'topic-ensurer';
  private readonly known = new Set<string>();
  private admin: ReturnType<KafkaClient['admin']> | undefined;

  constructor(private readonly kafka: KafkaClient) {}

  async ensure(topics: readonly { readonly topic: string; readonly partitions: number }[]): Promise<void> {
    const missing = topics.filter((t) => !this.known.has(t.topic));
    if (missing.length === 0) return;
    this.admin ??= this.kafka.admin();
    await ensureTopics(this.admin, missing);
    for (const t of missing) this.known.add(t.topic);
  }

  async stop(): Promise<void> {
    await this.admin?.disconnect();
  }
}

/** Kafka sources run on the platform ConsumerPipeline: commit after the handler resolved. */
export function pipelineConsumerFactory(options: {
  readonly kafka: KafkaClient;
  readonly logger: Logger;
  readonly dlq: RecordSender;
  readonly registry: Registry;
}): TopicConsumerFactory {
  return ({ groupId, topic, handle }) =>
    new ConsumerPipeline<Buffer>({
      kafka: options.kafka,
      logger: options.logger,
      groupId,
      topics: [topic],
      handle: (record) => handle(record),
      dlq: options.dlq,
      registry: options.registry,
      name: `stream-source:${groupId}`,
    });
}


export interface StreamSpecConsumerOptions {
  readonly kafka: KafkaClient;
  readonly logger: Logger;
  readonly target: DesiredStateSink;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Partitions of wharf.streams if this replica creates it. @default 6 */
  readonly partitions?: number;
  /** @default ConsumerGroups.streamIngest */
  readonly groupId?: string;
}

/**
 * Stream ownership: every replica joins the `wharf.stream-ingest` group on the compacted
 * wharf.streams topic; the partitions the group assigns to a replica decide which streams it
 * runs (a stream's partition is fixed by its id, the record key), so each stream runs on
 * exactly one replica, and a dead replica's partitions — and streams — move to the others once
 * its session times out.
 *
 * The group never commits: every assigned partition is read from its beginning, so a replica
 * that takes a partition over learns every stream in it (the topic is compacted; replaying a
 * spec already applied is a no-op). On each assignment the replica drops the streams of
 * partitions it no longer holds.
 */
export class StreamSpecConsumer implements Component {
  readonly name = 'stream-spec-consumer';
  private consumer: ReturnType<KafkaClient['consumer']> | undefined;
  private joined = false;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: StreamSpecConsumerOptions) {}

  ready(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    const admin = this.options.kafka.admin();
    try {
      await ensureTopics(admin, [
        { topic: Topics.streams, partitions: this.options.partitions ?? 6, compacted: true },
        { topic: Topics.streamsStatus, partitions: this.options.partitions ?? 6 },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort(new Error('stopping'));
    await this.restarting;
    await this.consumer?.disconnect();
  }

  private async run(): Promise<void> {
    const { kafka, logger, target } = this.options;
    const consumer = kafka.consumer({
      groupId: this.options.groupId ?? ConsumerGroups.streamIngest,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(this.options.sessionTimeoutMs, 10_000),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = new Set(payload.memberAssignment[Topics.streams] ?? []);
      this.joined = true;
      logger.info({ topic: Topics.streams, partitions: [...partitions] }, 'stream partitions assigned');
      target.retainPartitions(partitions);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (consumer !== this.consumer || this.stopping) return;
      this.joined = false;
      if (payload.restart) {
        logger.warn({ err: describeError(payload.error) }, 'stream spec consumer crashed; kafkajs restarts it');
        return;
      }
      logger.error({ err: describeError(payload.error) }, 'stream spec consumer crashed; restarting it');
      this.restarting ??= this.restart().finally(() => (this.restarting = undefined));
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [Topics.streams], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const id = message.key?.toString('utf8') ?? '';
          if (id === '') {
            logger.warn({ topic: Topics.streams, partition, offset: message.offset }, 'stream spec without a key ignored');
            return;
          }
          if (message.value === null || message.value.length === 0) {
            target.remove(id);
            return;
          }
          let spec: StreamSpec;
          try {
            spec = decodeMessage(StreamSpec, 'StreamSpec', message.value, contentTypeOf(message.headers, message.value));
          } catch (error) {
            target.reject(id, `undecodable stream spec: ${describeError(error)}`, partition);
            return;
          }
          if (spec.streamId !== id) {
            target.reject(id, `the record key '${id}' differs from streamId '${spec.streamId}'`, partition);
            return;
          }
          target.upsert(spec, partition);
        },
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw toKafkaError(error, { topic: Topics.streams });
    }
  }

  private async restart(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await abortableSleep(backoffDelay(attempt, { minDelayMs: 1_000, maxDelayMs: 30_000 }), this.abort.signal);
      } catch {
        return;
      }
      await this.consumer?.disconnect().catch(() => undefined);
      try {
        await this.run();
        return;
      } catch (error) {
        this.options.logger.error({ err: describeError(error), attempt }, 'stream spec consumer restart failed');
      }
    }
  }
}
