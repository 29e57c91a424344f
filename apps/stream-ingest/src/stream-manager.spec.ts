import { StreamDesiredState } from '@wharf/contracts';
import { eventually } from '@wharf/testing';
import { systemClock } from '@wharf/platform';
import { FakeSink, silentLogger, specOf, testDefaults } from '../test/stream-fixtures';
import { createSourceFactory } from './source-factory';
import { StreamManager, type ManagedStream } from './stream-manager';

function managerWith(sink: FakeSink) {
  const ensured: string[] = [];
  const changes: { id: string; state: string | undefined; deleted: boolean }[] = [];
  const manager = new StreamManager({
    sink,
    topics: { ensure: async (topics) => void ensured.push(...topics.map((t) => t.topic)) },
    createSource: createSourceFactory({
      webhook: { register: () => () => undefined, maxBodyBytes: 1024, ackTimeoutMs: 1000 },
      kafkaConsumer: () => ({ start: async () => undefined, stop: async () => undefined }),
    }),
    clock: systemClock,
    logger: silentLogger,
    defaults: testDefaults,
    batching: { maxBatchRecords: 100, maxBatchBytes: 1 << 20 },
    topicPartitions: 3,
    stopDrainMs: 1000,
    onChange: (id, stream: ManagedStream | undefined, deleted) => changes.push({ id, state: stream?.state, deleted }),
  });
  return { manager, ensured, changes };
}

const generator = (count: number, template = 'r{{seq}}') => ({ generator: { rate: 0, count, template } });

describe('StreamManager', () => {
  let manager: StreamManager;
  afterEach(() => manager.stop());

  it('starts a stream, creates its topics, and reports it running', async () => {
    const sink = new FakeSink();
    const m = managerWith(sink);
    manager = m.manager;
    await manager.start();
    manager.upsert(specOf({ source: generator(3) }), 0);
    await manager.settled();
    expect(m.ensured).toEqual(['orders-out', 'orders-out.dlq']);
    await eventually(() => expect(sink.values('orders-out')).toEqual(['r1', 'r2', 'r3']));
    expect(manager.stream('orders')).toMatchObject({ state: 'running', generation: 1, counters: { recordsOut: 3 } });
    expect(m.changes).toEqual([{ id: 'orders', state: 'running', deleted: false }]);
  });

  it('applies pause, resume, update and delete', async () => {
    const sink = new FakeSink();
    const m = managerWith(sink);
    manager = m.manager;
    await manager.start();
    manager.upsert(specOf({ source: { generator: { rate: 50, count: 0, template: 'v1-{{seq}}' } } }), 0);
    await eventually(() => expect(sink.written.length).toBeGreaterThan(2));

    manager.upsert(specOf({ generation: 2, desiredState: StreamDesiredState.STREAM_DESIRED_STATE_PAUSED, source: generator(0) }), 0);
    await manager.settled();
    expect(manager.stream('orders')?.state).toBe('paused');
    const paused = sink.written.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sink.written.length).toBe(paused);

    manager.upsert(specOf({ generation: 3, source: { generator: { rate: 100, count: 0, template: 'v3-{{seq}}' } } }), 0);
    await manager.settled();
    expect(manager.stream('orders')).toMatchObject({ state: 'running', generation: 3 });
    await eventually(() => expect(sink.values('orders-out').filter((v) => v.startsWith('v3-')).length).toBeGreaterThan(0));

    // An older generation arriving late is ignored.
    manager.upsert(specOf({ generation: 1, source: generator(1, 'old') }), 0);
    await manager.settled();
    expect(manager.stream('orders')?.generation).toBe(3);

    manager.remove('orders');
    await manager.settled();
    expect(manager.stream('orders')).toBeUndefined();
    expect(m.changes.at(-1)).toEqual({ id: 'orders', state: undefined, deleted: true });
  });

  it('drops the streams of partitions it no longer owns (a rebalance), without calling it a deletion', async () => {
    const sink = new FakeSink();
    const m = managerWith(sink);
    manager = m.manager;
    await manager.start();
    manager.upsert(specOf({ streamId: 'a', source: generator(1) }), 0);
    manager.upsert(specOf({ streamId: 'b', source: generator(1) }), 1);
    await manager.settled();
    manager.retainPartitions(new Set([1]));
    await manager.settled();
    expect(manager.streams().map((s) => s.id)).toEqual(['b']);
    expect(m.changes.at(-1)).toEqual({ id: 'a', state: undefined, deleted: false });
  });

  it('reports an invalid spec as failed with the reasons', async () => {
    const m = managerWith(new FakeSink());
    manager = m.manager;
    manager.upsert(specOf({ sink: { topic: '', serializer: '', headers: {}, compression: '', dlqTopic: '' } }), 0);
    await manager.settled();
    expect(manager.stream('orders')).toMatchObject({ state: 'failed' });
    expect(manager.stream('orders')?.counters.lastError).toMatch(/sink\.topic/);
  });
});
