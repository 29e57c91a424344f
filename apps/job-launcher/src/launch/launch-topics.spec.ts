import type { KafkaClient } from '@wharf/platform';
import type { Admin, ITopicConfig } from 'kafkajs';
import { launchTopicMaxMessageBytes, LaunchTopics } from './launch-topics';

describe('LaunchTopics', () => {
  it('creates the launch topic with max.message.bytes 8 MiB (big fan-out commands fit) and the observations topic with the broker default', async () => {
    const created: ITopicConfig[] = [];
    let disconnected = false;
    const admin = {
      connect: async () => undefined,
      disconnect: async () => {
        disconnected = true;
      },
      listTopics: async () => [],
      createTopics: async ({ topics }: { topics: ITopicConfig[] }) => {
        created.push(...topics);
        return true;
      },
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
      }),
    } as unknown as Admin;
    const kafka = { admin: () => admin } as unknown as KafkaClient;
    await new LaunchTopics(kafka, { launch: 'wharf.launch', observations: 'wharf.observations' }, 6).start();
    expect(launchTopicMaxMessageBytes).toBe(8 * 1024 * 1024);
    expect(created).toEqual([
      { topic: 'wharf.launch', numPartitions: 6, replicationFactor: -1, configEntries: [{ name: 'max.message.bytes', value: '8388608' }] },
      { topic: 'wharf.observations', numPartitions: 6, replicationFactor: -1, configEntries: [] },
    ]);
    expect(disconnected).toBe(true);
  });
});
