import { ensureTopics, type Component, type KafkaClient } from '@wharf/platform';

/** Creates the launch and observations topics when missing (idempotent; existing ones are left alone). */
export class LaunchTopics implements Component {
  readonly name = 'launch-topics';
  constructor(
    private readonly kafka: KafkaClient,
    private readonly topics: readonly string[],
    private readonly partitions: number,
  ) {}

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await ensureTopics(admin, this.topics.map((topic) => ({ topic, partitions: this.partitions })));
    } finally {
      await admin.disconnect();
    }
  }
}
