import type { StreamSpec } from '@wharf/contracts';

/**
 * The ports stream-ingest's logic is written against. The adapters (platform Kafka producer,
 * consumers, admin) are wired in main.ts; tests pass fakes.
 */

/** A record to produce; structurally the platform's ProducerRecord. */
export interface OutRecord {
  readonly key: string | Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

/** Produces to Kafka with acks=all; resolves once the broker acknowledged every record. */
export interface RecordSink {
  send(topic: string, records: readonly OutRecord[]): Promise<unknown>;
}

/** Creates topics that do not exist yet (idempotent). */
export interface TopicEnsurer {
  ensure(topics: readonly { readonly topic: string; readonly partitions: number }[]): Promise<void>;
}

/** Where an acknowledged record ended up. */
export type RecordOutcome = 'written' | 'dead-lettered' | 'filtered';

/** Called once per submitted record: without an error when it is durable (in the sink topic,
 * in the DLQ, or dropped by a filter, as `outcome` says), with one when it was not delivered. */
export type AckCallback = (error?: Error, outcome?: RecordOutcome) => void;

/** Where desired state (wharf.streams, or the standalone config) is delivered. */
export interface DesiredStateSink {
  /** A stream spec was written or replayed; `partition` is its wharf.streams partition. */
  upsert(spec: StreamSpec, partition?: number): void;
  /** A stream was deleted (a tombstone). */
  remove(id: string): void;
  /** A spec record for `id` could not be read. */
  reject(id: string, error: string, partition?: number): void;
  /** This replica now owns only these wharf.streams partitions. */
  retainPartitions(partitions: ReadonlySet<number>): void;
}
