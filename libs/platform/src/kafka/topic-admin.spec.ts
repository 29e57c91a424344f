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
    } as unknown as Admin;
    await ensureTopics(admin, [
      { topic: 'a', partitions: 1 },
      { topic: 'b', partitions: 3 },
    ]);
    expect(created.map((batch) => batch.map((t) => t.topic))).toEqual([['b']]);
    await ensureTopics(admin, [{ topic: 'a', partitions: 1 }]);
    expect(created).toHaveLength(1);
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
