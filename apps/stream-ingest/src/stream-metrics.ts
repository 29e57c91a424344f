import { Counter, Gauge, type Registry } from 'prom-client';
import type { ManagedStream } from './stream-manager';
import type { StreamCounters } from './stream-runner';

const counters: readonly [name: string, help: string, field: keyof Omit<StreamCounters, 'lastError'>][] = [
  ['wharf_stream_records_in_total', 'Records a stream received from its source.', 'recordsIn'],
  ['wharf_stream_records_out_total', 'Records a stream wrote to its sink topic (acknowledged).', 'recordsOut'],
  ['wharf_stream_records_filtered_total', 'Records a filter dropped.', 'filtered'],
  ['wharf_stream_records_dlq_total', 'Records a stream parked in its DLQ topic.', 'dlq'],
  ['wharf_stream_errors_total', 'Processing, source and sink errors of a stream.', 'errors'],
  ['wharf_stream_bytes_in_total', 'Bytes a stream received from its source.', 'bytesIn'],
  ['wharf_stream_bytes_out_total', 'Bytes a stream wrote to its sink topic.', 'bytesOut'],
  ['wharf_stream_sink_batches_total', 'Produce requests of a stream the broker acknowledged (records ÷ batches = batch size).', 'batches'],
];

/**
 * Prometheus metrics of the streams on this replica, read from their counters at scrape time
 * (nothing per record). Labels: `stream`, `tenant`.
 */
export function registerStreamMetrics(registry: Registry, streams: () => readonly ManagedStream[]): void {
  for (const [name, help, field] of counters) {
    new Counter({
      name,
      help,
      labelNames: ['stream', 'tenant'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of streams()) this.inc({ stream: s.id, tenant: s.tenant }, s.counters[field]);
      },
    });
  }
  new Gauge({
    name: 'wharf_stream_in_flight_records',
    help: 'Records handed over by the source and not yet acknowledged by Kafka.',
    labelNames: ['stream', 'tenant'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of streams()) this.set({ stream: s.id, tenant: s.tenant }, s.inFlight);
    },
  });
  new Gauge({
    name: 'wharf_stream_running',
    help: '1 for each stream running on this replica (0 when paused or failed).',
    labelNames: ['stream', 'tenant', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of streams()) this.set({ stream: s.id, tenant: s.tenant, state: s.state }, s.state === 'running' ? 1 : 0);
    },
  });
}
