import type { Admin, ITopicConfig } from 'kafkajs';
import { isRetriable } from '../errors';
import { retry } from '../retry';
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
  /**
   * max.message.bytes: the largest record batch the topic accepts; omit for the broker's
   * message.max.bytes (1 MiB by default). Consumers fetch a larger first batch regardless of
   * their fetch size (KIP-74), so raising it needs no consumer change.
   */
  readonly maxMessageBytes?: number;
}

/** The kafkajs create request of a spec (exported for tests). */
export function topicConfigOf(spec: TopicSpec): ITopicConfig {
  const configEntries: { name: string; value: string }[] = [];
  if (spec.compacted) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
  if (spec.retentionMs !== undefined)
    configEntries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
  if (spec.maxMessageBytes !== undefined)
    configEntries.push({ name: 'max.message.bytes', value: String(spec.maxMessageBytes) });
  return {
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor ?? -1,
    configEntries,
  };
}

/**
 * Creates the topics that do not exist yet and waits until every partition of every listed
 * topic has a leader; existing topics are left as they are (their partitions and configs are
 * not checked). Idempotent: safe to run from every replica at start, also concurrently — a
 * topic another replica just created is waited for, not failed on ("does not host this
 * topic-partition" while its leader is being elected is retried). Connects `admin` if needed;
 * the caller disconnects it.
 *
 * Thrown: the mapped Kafka error (UnavailableError once retries run out, InvalidArgumentError
 * for a bad spec…).
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  options: { retries?: number; minDelayMs?: number } = {},
): Promise<void> {
  const topics = specs.map((s) => s.topic);
  await retry(
    async () => {
      try {
        await admin.connect();
        const existing = new Set(await admin.listTopics());
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        // kafkajs resolves false when every topic already exists (a concurrent creator won).
        if (missing.length > 0) {
          await admin.createTopics({ topics: missing.map(topicConfigOf), waitForLeaders: true });
        }
        const metadata = await admin.fetchTopicMetadata({ topics });
        const leaderless = metadata.topics.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
        if (leaderless.length > 0) throw new Error(`no leader yet for ${leaderless.map((t) => t.name).join(', ')}`);
      } catch (error) {
        throw toKafkaError(error, { topics });
      }
    },
    { retries: options.retries ?? 20, minDelayMs: options.minDelayMs ?? 100, maxDelayMs: 2_000, shouldRetry: isRetriable },
  );
}
