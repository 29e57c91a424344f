import { randomUUID } from 'node:crypto';
import { isRetriable } from '../errors';
import type { Logger } from '../logger';
import { retry } from '../retry';
import { withClusterFactory, type KafkaClient } from './kafka-client';
import { toKafkaError } from './kafka-errors';
import { fromKafkaMessage, type KafkaRecord } from './kafka-record';

export interface ReadToEndOptions {
  readonly logger?: Logger;
  /** Per-partition fetch size; larger restores faster. @default 8 MiB */
  readonly maxBytesPerPartition?: number;
}

/**
 * The end of each non-empty partition: its high watermark when the read starts. Records
 * written later are not part of the read. Partitions with nothing to read are left out.
 */
export function endOffsetsOf(
  offsets: readonly { partition: number; high: string; low: string }[],
): Map<number, bigint> {
  const ends = new Map<number, bigint>();
  for (const { partition, high, low } of offsets) {
    if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
  }
  return ends;
}

/** kafkajs' ListOffsets isolation levels. */
const READ_UNCOMMITTED = 0;

/**
 * An admin whose `fetchTopicOffsets` answers the high watermark. kafkajs' admin asks
 * read-committed (ListOffsets' default), which answers the last stable offset: right after a
 * commit returns, the coordinator may still be writing the transaction's markers, and the LSO
 * then stops before that transaction's records. A read ending there missed the last commit in
 * 5 of 100 tries against a real broker.
 */
function highWatermarkAdmin(kafka: KafkaClient): ReturnType<KafkaClient['admin']> {
  return withClusterFactory(kafka, (options, create) =>
    create({ ...options, isolationLevel: READ_UNCOMMITTED }),
  ).admin();
}

/**
 * Reads `topic` from its beginning to the end it had when the call started, calling
 * `onRecord` once per record, in offset order per partition. For restoring state from a
 * compacted changelog. Resolves with the number of records read.
 *
 * It uses a throwaway consumer group that never commits (kafkajs cannot consume without a
 * group) and deletes it afterwards. "The end" is the high watermark captured at start; a
 * partition is done once the consumer is past it. That includes transaction markers and
 * compacted-away offsets, because kafkajs reports the last offset of every fetched batch,
 * even of one that held only control records. (Kafka never compacts the active segment, so
 * the record just below the high watermark is always there to be fetched.)
 *
 * Only committed records are read. The end is asked for read-uncommitted (see
 * {@link highWatermarkAdmin}), so a transaction still open at start delays the end until it
 * commits or aborts (at worst the writer's transaction timeout, when the writer died), and a
 * transaction committed just before the call is read even when its markers have not reached the
 * partition yet.
 *
 * Thrown: what `onRecord` threw (reading stops), or the mapped Kafka error.
 */
export async function readToEnd(
  kafka: KafkaClient,
  topic: string,
  onRecord: (record: KafkaRecord) => void | Promise<void>,
  options: ReadToEndOptions = {},
): Promise<number> {
  const admin = highWatermarkAdmin(kafka);
  const groupId = `wharf.read-to-end.${topic}.${randomUUID()}`;
  let count = 0;
  let onRecordFailure: { error: unknown } | undefined;
  try {
    await admin.connect();
    // A topic created a moment ago may not have its leaders in place yet (NOT_LEADER…).
    const offsets = await retry(() => admin.fetchTopicOffsets(topic), {
      retries: 8,
      minDelayMs: 100,
      maxDelayMs: 2_000,
      shouldRetry: (error) => isRetriable(toKafkaError(error)),
    });
    const remaining = endOffsetsOf(offsets);
    if (remaining.size === 0) return 0;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 8 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const passed = (partition: number, lastOffset: string): void => {
          const end = remaining.get(partition);
          if (end !== undefined && BigInt(lastOffset) + 1n >= end) {
            remaining.delete(partition);
            if (remaining.size === 0) resolve();
          }
        };
        // Fires for every processed batch, including ones kafkajs filtered to nothing.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
          passed(payload.partition, payload.lastOffset),
        );
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) reject(payload.error);
        });
        const run = async (): Promise<void> => {
          await consumer.connect();
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
          await consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              for (const message of batch.messages) {
                const end = remaining.get(batch.partition);
                if (end === undefined || BigInt(message.offset) >= end) break;
                try {
                  await onRecord(fromKafkaMessage(topic, batch.partition, message));
                } catch (error) {
                  // Stop here: letting kafkajs retry the batch would deliver records twice.
                  remaining.clear();
                  onRecordFailure = { error };
                  reject(error);
                  return;
                }
                count++;
              }
              await heartbeat();
            },
          });
        };
        run().catch(reject);
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    options.logger?.debug({ topic, records: count }, 'read topic to its end');
    return count;
  } catch (error) {
    if (onRecordFailure) throw onRecordFailure.error;
    throw toKafkaError(error, { topic });
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
