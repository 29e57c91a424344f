import type { Admin, ITopicConfig } from 'kafkajs';
import { toKafkaError } from './kafka-errors';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** cleanup.policy=compact: Kafka keeps the newest record per key. @default false */
  readonly compacted?: boolean;
  /** retention.ms; omit for the broker default. */
  readonly retentionMs?: number;
  /** @default the broker's default.replication.factor */
  readonly replicationFactor?: number;
}

/** The kafkajs create request of a spec (exported for tests). */
export function topicConfigOf(spec: TopicSpec): ITopicConfig {
  const configEntries: { name: string; value: string }[] = [];
  if (spec.compacted) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
  if (spec.retentionMs !== undefined)
    configEntries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
  return {
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor ?? -1,
    configEntries,
  };
}

/**
 * Creates the topics that do not exist yet and waits for their leaders; existing topics are
 * left as they are (their partitions and configs are not checked). Idempotent: safe to run
 * from every replica at start. Connects `admin` if needed; the caller disconnects it.
 *
 * Thrown: the mapped Kafka error (UnavailableError, InvalidArgumentError for a bad spec…).
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((spec) => !existing.has(spec.topic));
    if (missing.length === 0) return;
    // kafkajs resolves false when every topic already exists (a concurrent creator won).
    await admin.createTopics({ topics: missing.map(topicConfigOf), waitForLeaders: true });
  } catch (error) {
    throw toKafkaError(error, { topics: specs.map((s) => s.topic) });
  }
}
