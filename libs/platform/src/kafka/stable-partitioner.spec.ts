import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { StablePartitioner } from './stable-partitioner';

const partitionMetadata: PartitionMetadata[] = [0, 1, 2].map((partitionId) => ({
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
  offlineReplicas: [],
  partitionErrorCode: 0,
}));

describe('StablePartitioner', () => {
  it('gives a keyless record the same partition on every retry, while different records spread over the partitions', () => {
    const partition = StablePartitioner();
    const values = Array.from({ length: 300 }, (_, i) => Buffer.from(`{"seq":${i},"line":"a keyless record"}`));
    const place = (vs: Buffer[]) => vs.map((value) => partition({ topic: 't', partitionMetadata, message: { value } }));
    const first = place(values);
    // A retry builds new message objects around the same values (as the platform producer does)…
    expect(place(values)).toEqual(first);
    // …and a caller's own retry may even build new Buffers with the same bytes.
    expect(place(values.map((value) => Buffer.from(value)))).toEqual(first);
    for (const p of [0, 1, 2]) expect(first.filter((x) => x === p).length).toBeGreaterThan(60);
  });

  it('places a keyless record as if its value were its key', () => {
    const stable = StablePartitioner();
    const plain = Partitioners.DefaultPartitioner();
    for (const text of ['21', 'foobar', 'a-little-bit-longer-string']) {
      const value = Buffer.from(text);
      expect(stable({ topic: 't', partitionMetadata, message: { value } })).toBe(plain({ topic: 't', partitionMetadata, message: { key: value, value } }));
    }
  });

  it('is what kafkajs does otherwise: a retry of keyless records would move them', () => {
    const partition = Partitioners.DefaultPartitioner();
    const values = Array.from({ length: 9 }, (_, i) => Buffer.from(`line ${i}`));
    const place = () => values.map((value) => partition({ topic: 't', partitionMetadata, message: { value } }));
    const first = place();
    // 9 records over 3 partitions: the round-robin counter ends where it began, so retry one less.
    const retry = values.slice(1).map((value) => partition({ topic: 't', partitionMetadata, message: { value } }));
    expect(retry).not.toEqual(first.slice(1));
  });

  it('keeps murmur2 of the key and explicit partitions', () => {
    const stable = StablePartitioner();
    const plain = Partitioners.DefaultPartitioner();
    for (const key of ['job-1', 'job-2', 'a-much-longer-key-0123456789']) {
      const message = { key, value: Buffer.from('v') };
      expect(stable({ topic: 't', partitionMetadata, message })).toBe(plain({ topic: 't', partitionMetadata, message }));
    }
    expect(stable({ topic: 't', partitionMetadata, message: { value: Buffer.from('v'), partition: 2 } })).toBe(2);
  });
});
