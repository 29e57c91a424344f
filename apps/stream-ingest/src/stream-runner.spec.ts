import { UnavailableError, InvalidArgumentError } from '@wharf/platform';
import { FakeClock, flushPromises } from '@wharf/testing';
import { definitionOf, FakeSink, silentLogger } from '../test/stream-fixtures';
import { StreamStoppedError } from './stream-errors';
import { StreamRunner } from './stream-runner';

function runnerWith(sink: FakeSink, clock = new FakeClock(), overrides: Parameters<typeof definitionOf>[0] = {}) {
  return new StreamRunner({
    definition: definitionOf(overrides),
    sink,
    clock,
    logger: silentLogger,
    batching: { maxBatchRecords: 100, maxBatchBytes: 1 << 20 },
  });
}

function submitAll(runner: StreamRunner, lines: string[]): Promise<(Error | undefined)[]> {
  return Promise.all(lines.map((line) => new Promise<Error | undefined>((resolve) => runner.submit({ value: Buffer.from(line) }, resolve))));
}

describe('StreamRunner', () => {
  it('delivers records in order and acks each once the sink acknowledged', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const runner = runnerWith(sink);
    const acks: number[] = [];
    for (let i = 0; i < 5; i++) runner.submit({ value: Buffer.from(`r${i}`) }, () => acks.push(i));
    await flushPromises();
    expect(acks).toEqual([]); // nothing acked before the broker answered
    expect(runner.inFlight).toBe(5);
    while (sink.pending.length > 0) {
      sink.pending.shift()?.resolve();
      await flushPromises();
    }
    expect(acks).toEqual([0, 1, 2, 3, 4]);
    expect(sink.values('orders-out')).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(runner.inFlight).toBe(0);
    expect(runner.counters).toMatchObject({ recordsIn: 5, recordsOut: 5, dlq: 0 });
  });

  it('batches what accumulates while a send is in flight', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const runner = runnerWith(sink);
    const done = submitAll(runner, ['a', 'b', 'c', 'd']);
    await flushPromises();
    expect(sink.batches).toEqual([1]); // the first record left at once
    sink.pending.shift()?.resolve();
    await flushPromises();
    expect(sink.batches).toEqual([1, 3]); // the other three went together
    sink.pending.shift()?.resolve();
    expect(await done).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('parks malformed records in the DLQ with the reason and keeps going', async () => {
    const sink = new FakeSink();
    const runner = runnerWith(sink, new FakeClock(), { processors: [{ parseJson: true }, { key: 'id' }] });
    const results = await submitAll(runner, ['{"id":1}', 'not json', '{"id":2}', '{"noid":3}']);
    expect(results).toEqual([undefined, undefined, undefined, undefined]);
    expect(sink.values('orders-out')).toEqual(['{"id":1}', '{"id":2}']);
    expect(sink.written.filter((w) => w.topic === 'orders-out').map((w) => w.record.key)).toEqual(['1', '2']);
    expect(sink.values('orders-out.dlq')).toEqual(['not json', '{"noid":3}']);
    const [first, second] = sink.headers('orders-out.dlq');
    expect(first).toMatchObject({ 'wharf-error-step': 'processors[0].parse_json', 'wharf-stream-id': 'orders', 'wharf-error-type': 'RecordRejectedError' });
    expect(String(first?.['wharf-error'])).toMatch(/not JSON/);
    expect(second).toMatchObject({ 'wharf-error-step': 'processors[1].key' });
    expect(runner.counters).toMatchObject({ recordsIn: 4, recordsOut: 2, dlq: 2 });
  });

  it('acks filtered records without writing them', async () => {
    const sink = new FakeSink();
    const runner = runnerWith(sink, new FakeClock(), { processors: [{ parseJson: true }, { filter: 'keep' }] });
    expect(await submitAll(runner, ['{"keep":true,"n":1}', '{"keep":false,"n":2}'])).toEqual([undefined, undefined]);
    expect(sink.values('orders-out')).toEqual(['{"keep":true,"n":1}']);
    expect(runner.counters.filtered).toBe(1);
  });

  it('keeps order through asynchronous processors', async () => {
    const sink = new FakeSink();
    const runner = runnerWith(sink, new FakeClock(), { processors: [{ map: '$' }] });
    const lines = Array.from({ length: 50 }, (_, i) => `line-${i}`);
    await submitAll(runner, lines);
    expect(sink.values('orders-out')).toEqual(lines.map((l) => JSON.stringify(l)));
  });

  it('retries a batch through broker outages, in order, without losing or reordering', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const runner = runnerWith(sink, clock);
    sink.failures.push(new UnavailableError('broker down'), new UnavailableError('still down'));
    const done = submitAll(runner, ['a', 'b', 'c']);
    await clock.advance(10_000);
    expect(await done).toEqual([undefined, undefined, undefined]);
    expect(sink.values('orders-out')).toEqual(['a', 'b', 'c']);
    expect(runner.counters.errors).toBe(2);
    expect(runner.counters.lastError).toMatch(/still down/);
  });

  it('sends a record the broker rejects for good to the DLQ, and only that one', async () => {
    const sink = new FakeSink();
    const runner = runnerWith(sink);
    sink.auto = false;
    const done = submitAll(runner, ['x']);
    await flushPromises();
    sink.pending.shift()?.resolve();
    const batch = submitAll(runner, ['ok1', 'huge', 'ok2']);
    sink.auto = true;
    // The batch of three is rejected; record by record, only "huge" is rejected again.
    const original = sink.send.bind(sink);
    sink.send = (topic, records) =>
      records.some((r) => r.value?.toString() === 'huge') && topic === 'orders-out'
        ? Promise.reject(new InvalidArgumentError('MESSAGE_TOO_LARGE'))
        : original(topic, records);
    expect(await done).toEqual([undefined]);
    expect(await batch).toEqual([undefined, undefined, undefined]);
    expect(sink.values('orders-out')).toEqual(['x', 'ok1', 'ok2']);
    expect(sink.values('orders-out.dlq')).toEqual(['huge']);
    expect(sink.headers('orders-out.dlq')[0]?.['wharf-error-step']).toBe('sink.produce');
  });

  it('on stop, waits for the in-flight records, then fails the rest so positions do not advance', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const clock = new FakeClock();
    const runner = runnerWith(sink, clock);
    const results = submitAll(runner, ['a', 'b']);
    await flushPromises();
    const stopping = runner.stop(1_000);
    await clock.advance(1_000);
    await stopping;
    const [a, b] = await results;
    expect(a).toBeInstanceOf(StreamStoppedError);
    expect(b).toBeInstanceOf(StreamStoppedError);
    expect(runner.inFlight).toBe(0);
    const late = await submitAll(runner, ['c']);
    expect(late[0]).toBeInstanceOf(StreamStoppedError);
  });

  it('stop resolves as soon as everything in flight was acknowledged', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const runner = runnerWith(sink, clock);
    await submitAll(runner, ['a']);
    await runner.stop(60_000); // no clock advance needed
    expect(sink.values('orders-out')).toEqual(['a']);
  });

  it('adds sink headers and source headers to every record', async () => {
    const sink = new FakeSink();
    const runner = runnerWith(sink, new FakeClock(), {
      sink: { topic: 'orders-out', serializer: 'text', headers: { origin: 'edna' }, compression: '', dlqTopic: '' },
    });
    await new Promise((resolve) => runner.submit({ value: Buffer.from('v'), headers: { 'sse-id': '42' } }, resolve));
    expect(sink.headers('orders-out')).toEqual([{ origin: 'edna', 'sse-id': '42' }]);
  });

  it('without processors and with the bytes serializer, hands the source\'s own Buffer to the sink', async () => {
    const sink = new FakeSink();
    const runner = runnerWith(sink, new FakeClock(), {
      sink: { topic: 'orders-out', serializer: 'bytes', headers: { origin: 'edna' }, compression: '', dlqTopic: '' },
    });
    const value = Buffer.from('{"not":"re-encoded"}');
    const outcomes: unknown[] = [];
    await new Promise<void>((resolve) =>
      runner.submit({ value }, (error, outcome) => {
        outcomes.push(error ?? outcome);
        resolve();
      }),
    );
    await new Promise((resolve) => runner.submit({ value: Buffer.from('b'), headers: { 'sse-id': '7' } }, resolve));
    expect(sink.written[0]?.record.value).toBe(value); // the same bytes: no decode, no copy
    expect(outcomes).toEqual(['written']);
    expect(sink.headers('orders-out')).toEqual([{ origin: 'edna' }, { origin: 'edna', 'sse-id': '7' }]);
    expect(runner.counters).toMatchObject({ recordsIn: 2, recordsOut: 2, bytesIn: value.length + 1, bytesOut: value.length + 1 });
    expect(runner.inFlight).toBe(0);
    expect(runner.window.bytes).toBe(0);
  });

  it('settles a whole batch at once: window, counters and every ack callback', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const runner = runnerWith(sink);
    const results = submitAll(runner, ['a', 'bb', 'ccc', 'dddd']);
    await flushPromises();
    sink.pending.shift()?.resolve(); // the first record, alone
    await flushPromises();
    expect(runner.inFlight).toBe(3);
    expect(runner.window.bytes).toBe(9);
    sink.pending.shift()?.resolve(); // the other three, one batch
    expect(await results).toEqual([undefined, undefined, undefined, undefined]);
    expect(runner.inFlight).toBe(0);
    expect(runner.window.bytes).toBe(0);
    expect(runner.counters).toMatchObject({ recordsOut: 4, bytesOut: 10, batches: 2 });
  });

  it('reports a record the broker rejected and the DLQ took as dead-lettered, not written', async () => {
    const sink = new FakeSink();
    const runner = runnerWith(sink);
    const original = sink.send.bind(sink);
    sink.send = (topic, records) =>
      topic === 'orders-out' && records.some((r) => r.value?.toString() === 'huge')
        ? Promise.reject(new InvalidArgumentError('MESSAGE_TOO_LARGE'))
        : original(topic, records);
    const outcomes = await Promise.all(
      ['ok', 'huge'].map((v) => new Promise((resolve) => runner.submit({ value: Buffer.from(v) }, (error, outcome) => resolve(error ?? outcome)))),
    );
    expect(outcomes).toEqual(['written', 'dead-lettered']);
    expect(runner.counters).toMatchObject({ recordsIn: 2, recordsOut: 1, dlq: 1 });
    expect(runner.inFlight).toBe(0);
  });

  it('fails every record still queued when it stops, with one window release', async () => {
    const sink = new FakeSink();
    sink.auto = false;
    const clock = new FakeClock();
    const runner = runnerWith(sink, clock);
    const results = submitAll(runner, Array.from({ length: 250 }, (_, i) => `r${i}`));
    await flushPromises();
    const stopping = runner.stop(10);
    await clock.advance(10);
    await stopping;
    const settled = await results;
    expect(settled.every((e) => e instanceof StreamStoppedError)).toBe(true);
    expect(runner.inFlight).toBe(0);
    expect(runner.window.bytes).toBe(0);
    expect(runner.counters.recordsOut).toBe(0);
  });
});
