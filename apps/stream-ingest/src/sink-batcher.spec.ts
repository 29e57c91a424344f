import { InvalidArgumentError } from '@wharf/platform';
import { FakeClock, flushPromises } from '@wharf/testing';
import { FakeSink, silentLogger } from '../test/stream-fixtures';
import { SinkBatcher, type SinkItem } from './sink-batcher';

function item(value: string, dlq = false): SinkItem {
  const bytes = Buffer.from(value);
  return { key: null, value: bytes, headers: undefined, dlq, bytes: bytes.length, held: bytes.length, done: undefined };
}

function batcherWith(sink: FakeSink, settled: { values: string[]; error?: Error }[], maxBatchRecords = 100) {
  return new SinkBatcher({
    sink,
    topic: 'out',
    dlqTopic: 'out.dlq',
    streamId: 's',
    clock: new FakeClock(),
    logger: silentLogger,
    maxBatchRecords,
    maxBatchBytes: 1 << 20,
    settle: (items, error) => settled.push({ values: items.map((i) => i.value?.toString() ?? ''), error }),
  });
}

describe('SinkBatcher', () => {
  it('sends runs of one topic in order and settles each batch with one call', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const settled: { values: string[]; error?: Error }[] = [];
    const batcher = batcherWith(sink, settled);
    batcher.enqueue(item('a'));
    for (const v of ['b', 'c']) batcher.enqueue(item(v));
    batcher.enqueue(item('x', true));
    batcher.enqueue(item('d'));
    while (sink.pending.length > 0 || batcher.pending > 0) {
      sink.pending.shift()?.resolve();
      await flushPromises();
    }
    await batcher.idle();
    expect(sink.batches).toEqual([1, 2, 1, 1]);
    expect(sink.written.map((w) => `${w.topic}:${w.record.value?.toString()}`)).toEqual(['out:a', 'out:b', 'out:c', 'out.dlq:x', 'out:d']);
    expect(settled).toEqual([{ values: ['a'] }, { values: ['b', 'c'] }, { values: ['x'] }, { values: ['d'] }]);
  });

  it('keeps batches within maxBatchRecords', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const settled: { values: string[]; error?: Error }[] = [];
    const batcher = batcherWith(sink, settled, 3);
    for (let i = 0; i < 8; i++) batcher.enqueue(item(`r${i}`));
    while (sink.pending.length > 0) {
      sink.pending.shift()?.resolve();
      await flushPromises();
    }
    await batcher.idle();
    expect(sink.batches).toEqual([1, 3, 3, 1]);
    expect(settled.flatMap((s) => s.values)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
  });

  it('parks a record the broker rejects for good in the DLQ with the reason', async () => {
    const sink = new FakeSink();
    const original = sink.send.bind(sink);
    sink.send = (topic, records) =>
      topic === 'out' && records.some((r) => r.value?.toString() === 'bad')
        ? Promise.reject(new InvalidArgumentError('MESSAGE_TOO_LARGE'))
        : original(topic, records);
    const settled: { values: string[]; error?: Error }[] = [];
    const batcher = batcherWith(sink, settled);
    batcher.enqueue(item('first'));
    for (const v of ['ok', 'bad']) batcher.enqueue(item(v));
    await batcher.idle();
    expect(sink.values('out')).toEqual(['first', 'ok']);
    expect(sink.values('out.dlq')).toEqual(['bad']);
    expect(sink.headers('out.dlq')[0]).toMatchObject({ 'wharf-error-step': 'sink.produce', 'wharf-stream-id': 's' });
    expect(settled.map((s) => s.error)).toEqual([undefined, undefined, undefined]);
  });

  it('fails what is queued on close, and what comes later', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const settled: { values: string[]; error?: Error }[] = [];
    const batcher = batcherWith(sink, settled);
    for (const v of ['a', 'b', 'c']) batcher.enqueue(item(v));
    await flushPromises();
    batcher.close(new Error('stopped'));
    batcher.enqueue(item('late'));
    await batcher.idle();
    // Queued ones fail at once, a later one on enqueue, the one in flight when its send is cut short.
    expect(settled.map((s) => [s.values, s.error?.message])).toEqual([
      [['b', 'c'], 'stopped'],
      [['late'], 'stopped'],
      [['a'], 'stopped'],
    ]);
  });
});
