import { decodeMessage, ContentTypes, StreamStatus, Topics } from '@wharf/contracts';
import { Registry } from 'prom-client';
import { FakeClock } from '@wharf/testing';
import { FakeSink, silentLogger } from '../test/stream-fixtures';
import { StatusPublisher } from './status-publisher';
import type { ManagedStream } from './stream-manager';
import { registerStreamMetrics } from './stream-metrics';
import { emptyCounters } from './stream-runner';

const stream = (bytesOut: number): ManagedStream => ({
  id: 'orders',
  tenant: 'acme',
  generation: 4,
  state: 'running',
  counters: { ...emptyCounters(), recordsIn: 10, recordsOut: 8, dlq: 1, errors: 1, bytesOut, lastError: 'not JSON' },
  startedAt: 0,
  inFlight: 1,
  lag: 0,
});

function decoded(sink: FakeSink): StreamStatus[] {
  return sink.written
    .filter((w) => w.topic === Topics.streamsStatus)
    .map((w) => decodeMessage(StreamStatus, 'StreamStatus', w.record.value as Buffer, ContentTypes.protobuf));
}

describe('StatusPublisher', () => {
  it('publishes every interval with bytes/s, and reports deletions as stopped', async () => {
    const clock = new FakeClock();
    const sink = new FakeSink();
    let current = stream(0);
    const publisher = new StatusPublisher({ sink, replicaId: 'r1', clock, intervalMs: 1000, logger: silentLogger, streams: () => [current] });
    await publisher.start();
    await clock.advance(1000);
    current = stream(5000);
    await clock.advance(1000);
    const [first, second] = decoded(sink);
    expect(first).toMatchObject({ streamId: 'orders', state: 'running', replica: 'r1', generation: 4, recordsIn: 10, recordsOut: 8, dlq: 1, errors: 1, lastError: 'not JSON' });
    expect(second?.bytesPerSecond).toBe(5000);
    expect(sink.written[0]?.record.key).toBe('orders');

    publisher.changed('orders', undefined, false); // moved to another replica: its new owner reports
    publisher.changed('orders', undefined, true); // deleted
    await clock.advance(0);
    expect(decoded(sink).at(-1)).toMatchObject({ streamId: 'orders', state: 'stopped' });
    await publisher.stop();
  });
});

describe('stream metrics', () => {
  it('exposes the counters of every stream at scrape time', async () => {
    const registry = new Registry();
    registerStreamMetrics(registry, () => [stream(123)]);
    const text = await registry.metrics();
    expect(text).toContain('wharf_stream_records_out_total{stream="orders",tenant="acme"} 8');
    expect(text).toContain('wharf_stream_bytes_out_total{stream="orders",tenant="acme"} 123');
    expect(text).toContain('wharf_stream_running{stream="orders",tenant="acme",state="running"} 1');
    expect(text).toContain('wharf_stream_in_flight_records{stream="orders",tenant="acme"} 1');
  });
});
