import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

/** Header values as kafkajs delivers them (a header may repeat). */
export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type RecordHeaderMap = Record<string, HeaderValue>;

/** A record to produce. A null value is a tombstone (deletes the key in compacted topics). */
export interface ProducerRecord {
  readonly key: string | Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string | Buffer | (string | Buffer)[]>>;
  /** Chosen by the default (murmur2-of-key) partitioner when absent. */
  readonly partition?: number;
}

/** Where a produced batch landed, per partition. */
export interface ProducedOffset {
  readonly topic: string;
  readonly partition: number;
  /** The offset of the first record of the batch in this partition. */
  readonly baseOffset: string;
}

/** A consumed record. Offsets are decimal strings (int64). */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeaderMap;
  /** Milliseconds since the epoch, as a decimal string. */
  readonly timestamp: string;
}

export function toKafkaMessage(record: ProducerRecord): Message {
  const message: Message = { key: record.key, value: record.value };
  if (record.headers) message.headers = { ...record.headers } as IHeaders;
  if (record.partition !== undefined) message.partition = record.partition;
  return message;
}

export function fromKafkaMessage(
  topic: string,
  partition: number,
  message: KafkaMessage,
): KafkaRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: message.headers ?? {},
    timestamp: message.timestamp,
  };
}

/** The first value of a header as a string, or undefined. */
export function headerString(headers: RecordHeaderMap, name: string): string | undefined {
  const raw = headers[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  return first?.toString();
}
