import type { Admin, ITopicConfig } from 'kafkajs';
import { ensureTopics, topicConfigOf } from './topic-admin';
import { endOffsetsOf } from './topic-reader';

describe('ensureTopics', () => {
  it('describes compacted and retention-limited topics', () => {
    expect(topicConfigOf({ topic: 'wharf.jobs.state', partitions: 6, compacted: true })).toEqual({
      topic: 'wharf.jobs.state',
      numPartitions: 6,
      replicationFactor: -1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    });
    expect(topicConfigOf({ topic: 'x', partitions: 1, retentionMs: 60_000 }).configEntries).toEqual(
      [{ name: 'retention.ms', value: '60000' }],
    );
    expect(topicConfigOf({ topic: 'x', partitions: 1, compacted: true, maxMessageBytes: 8_388_608 }).configEntries).toEqual([
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'max.message.bytes', value: '8388608' },
    ]);
  });

  it('creates only the missing topics', async () => {
    const created: ITopicConfig[][] = [];
    const admin = {
      connect: async () => undefined,
      listTopics: async () => ['a'],
      createTopics: async ({ topics }: { topics: ITopicConfig[] }) => {
        created.push(topics);
        return true;
      },
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
      }),
    } as unknown as Admin;
    await ensureTopics(admin, [
      { topic: 'a', partitions: 1 },
      { topic: 'b', partitions: 3 },
    ]);
    expect(created.map((batch) => batch.map((t) => t.topic))).toEqual([['b']]);
    await ensureTopics(admin, [{ topic: 'a', partitions: 1 }]);
    expect(created).toHaveLength(1);
  });

  it('waits for a topic another replica just created until its leader is elected', async () => {
    let metadataCalls = 0;
    const admin = {
      connect: async () => undefined,
      listTopics: async () => ['wharf.launch'],
      createTopics: async () => true,
      fetchTopicMetadata: async () => {
        metadataCalls++;
        if (metadataCalls === 1) throw Object.assign(new Error('This server does not host this topic-partition'), { retriable: true });
        return { topics: [{ name: 'wharf.launch', partitions: [{ partitionId: 0, leader: metadataCalls >= 3 ? 1 : -1 }] }] };
      },
    } as unknown as Admin;
    await ensureTopics(admin, [{ topic: 'wharf.launch', partitions: 1 }], { minDelayMs: 1 });
    expect(metadataCalls).toBe(3);
  });

  it('gives up after its retries with the mapped error', async () => {
    const admin = {
      connect: async () => undefined,
      listTopics: async () => [],
      createTopics: async () => true,
      fetchTopicMetadata: async () => ({ topics: [{ name: 't', partitions: [{ partitionId: 0, leader: -1 }] }] }),
    } as unknown as Admin;
    await expect(ensureTopics(admin, [{ topic: 't', partitions: 1 }], { retries: 2, minDelayMs: 1 })).rejects.toThrow(/no leader yet for t/);
  });
});

describe('endOffsetsOf', () => {
  it('keeps the high watermark of non-empty partitions only', () => {
    const ends = endOffsetsOf([
      { partition: 0, low: '0', high: '10' },
      { partition: 1, low: '0', high: '0' },
      { partition: 2, low: '7', high: '7' },
      { partition: 3, low: '5', high: '9' },
    ]);
    expect([...ends]).toEqual([
      [0, 10n],
      [3, 9n],
    ]);
  });
});
