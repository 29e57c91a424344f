import type { ProducerRecord } from '@wharf/platform';
import { splitForSend } from './kafka-state-log';

const record = (key: string, bytes: number, partition?: number): ProducerRecord & { key: string } => ({
  key,
  value: Buffer.alloc(bytes),
  ...(partition === undefined ? {} : { partition }),
});

describe('splitForSend', () => {
  const byPartition = (r: ProducerRecord) => r.partition ?? 0;

  it('keeps a commit of small records in one send', () => {
    const records = Array.from({ length: 300 }, (_, i) => record(`j${i}`, 1_000, i % 3));
    expect(splitForSend(records, byPartition, 900_000)).toEqual([records]);
  });

  it('never puts two records in one send when together they exceed the budget in one partition', () => {
    const a = record('a', 700_000, 1);
    const b = record('b', 700_000, 1);
    const c = record('c', 700_000, 2);
    const small = record('s', 100, 1);
    expect(splitForSend([a, c, b, small], byPartition, 900_000).map((part) => part.map((r) => r.key))).toEqual([['a', 'c'], ['b', 's']]);
  });

  it('sends a record larger than the budget alone, in order', () => {
    const big = record('big', 2_000_000, 0);
    const x = record('x', 10, 0);
    const y = record('y', 10, 0);
    expect(splitForSend([x, big, y], byPartition, 900_000).map((part) => part.map((r) => r.key))).toEqual([['x'], ['big'], ['y']]);
  });

  it('returns no sends for no records', () => {
    expect(splitForSend([], byPartition, 900_000)).toEqual([]);
  });
});
