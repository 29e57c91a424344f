import { ensureTopics, type Component, type KafkaClient, type TopicSpec } from '@wharf/platform';

/**
 * max.message.bytes of `wharf.launch` when the launcher creates it: a LaunchCommand carries a
 * whole spec (a 100,000-item fan-out is ~700 KB), over the broker's 1 MiB default with room.
 * The scheduler creates the topic with the same value, so it holds whoever comes first.
 */
export const launchTopicMaxMessageBytes = 8 * 1024 * 1024;

/** The topics job-launcher reads and writes (names from its config). */
export interface LaunchTopicNames {
  readonly launch: string;
  readonly observations: string;
}

/** The create requests of the launch and observations topics (exported for tests). */
export function launchTopicSpecs(topics: LaunchTopicNames, partitions: number): TopicSpec[] {
  return [
    { topic: topics.launch, partitions, maxMessageBytes: launchTopicMaxMessageBytes },
    { topic: topics.observations, partitions },
  ];
}

/** Creates the launch and observations topics when missing (idempotent; existing ones are left alone). */
export class LaunchTopics implements Component {
  readonly name = 'launch-topics';
  constructor(
    private readonly kafka: KafkaClient,
    private readonly topics: LaunchTopicNames,
    private readonly partitions: number,
  ) {}

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await ensureTopics(admin, launchTopicSpecs(this.topics, this.partitions));
    } finally {
      await admin.disconnect();
    }
  }
}
