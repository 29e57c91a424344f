import { Partitioners } from 'kafkajs';
import { partitionOf } from './murmur2-partitioner';

describe('partitionOf', () => {
  it("matches kafkajs' DefaultPartitioner (the Java client's murmur2)", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 7, 12]) {
      const metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
      for (const key of ['a', 'ab', 'abc', 'abcd', 'job-1', 'hello-0123456789abcdef', 'ünïcode-ключ', '']) {
        const expected = partitioner({ topic: 't', partitionMetadata: metadata, message: { key, value: null } });
        expect(partitionOf(key, partitions)).toBe(expected);
      }
    }
  });
});
