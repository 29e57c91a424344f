import type { SourceDefinition } from '../stream-definition';
import type { SourceContext, StreamSource } from '../stream-source';

export type KafkaSourceDefinition = Extract<SourceDefinition, { kind: 'kafka' }>;

/** A consumed record, as the consumer port delivers it. */
export interface SourceKafkaRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, unknown>>;
}

/**
 * The consumer port: a consumer group on one topic that calls `handle` per record and commits
 * a record's offset only after `handle` resolved (the platform ConsumerPipeline).
 */
export interface TopicConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
}
export type TopicConsumerFactory = (options: {
  readonly groupId: string;
  readonly topic: string;
  readonly handle: (record: SourceKafkaRecord) => Promise<void>;
}) => TopicConsumer;

/** Source headers worth carrying over: text values only (binary ones are skipped). */
function textHeaders(headers: Readonly<Record<string, unknown>>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string') (out ??= {})[name] = value;
    else if (Buffer.isBuffer(value)) {
      const text = value.toString('utf8');
      if (!text.includes('\uFFFD')) (out ??= {})[name] = text;
    }
  }
  return out;
}

/**
 * Stream-to-stream: reads a Kafka topic with the stream's own consumer group and commits an
 * offset only after its record was produced to the sink (or the DLQ). A stop lets the record in
 * hand finish; what was not acknowledged is read again by whoever owns the group next.
 * Tombstones (null values) are skipped.
 */
export class KafkaTopicSource implements StreamSource {
  private consumer: TopicConsumer | undefined;

  constructor(
    private readonly definition: KafkaSourceDefinition,
    private readonly createConsumer: TopicConsumerFactory,
  ) {}

  async start(context: SourceContext): Promise<void> {
    this.consumer = this.createConsumer({
      groupId: this.definition.groupId,
      topic: this.definition.topic,
      handle: async (record) => {
        if (record.value === null) return;
        if (context.window.full) await context.window.whenOpen();
        const value = record.value;
        await new Promise<void>((resolve, reject) => {
          const headers = textHeaders(record.headers);
          context.submit(headers ? { value, key: record.key, headers } : { value, key: record.key }, (error) =>
            error ? reject(error) : resolve(),
          );
        });
      },
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}
