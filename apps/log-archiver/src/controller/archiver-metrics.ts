import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The archiver's Prometheus metrics (names are part of the operations contract). */
export class ArchiverMetrics {
  readonly jobsArchived: Counter<'outcome' | 'resumed'>;
  readonly logsArchived: Counter;
  readonly bytesArchived: Counter;
  readonly missingLogs: Counter<'reason'>;
  readonly failures: Counter<'step' | 'reason'>;
  readonly released: Counter<'reason'>;
  readonly pendingJobs: Gauge;
  readonly oldestPendingSeconds: Gauge;
  readonly storeUp: Gauge;
  readonly archiveSeconds: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.jobsArchived = new Counter({
      name: 'wharf_log_archiver_jobs_archived_total',
      help: 'Runs whose logs were archived and whose finalizer was removed.',
      labelNames: ['outcome', 'resumed'],
      registers,
    });
    this.logsArchived = new Counter({ name: 'wharf_log_archiver_logs_archived_total', help: 'Container logs written and verified.', registers });
    this.bytesArchived = new Counter({ name: 'wharf_log_archiver_bytes_archived_total', help: 'Bytes of container logs written (after redaction).', registers });
    this.missingLogs = new Counter({
      name: 'wharf_log_archiver_missing_logs_total',
      help: 'Logs recorded in a manifest as missing, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.failures = new Counter({
      name: 'wharf_log_archiver_failures_total',
      help: 'Failed archive passes, by step and reason (each is retried or handled by the deadline policy).',
      labelNames: ['step', 'reason'],
      registers,
    });
    this.released = new Counter({
      name: 'wharf_log_archiver_released_unarchived_total',
      help: 'Finalizers released without an archive after the deadline (policy "release").',
      labelNames: ['reason'],
      registers,
    });
    this.pendingJobs = new Gauge({
      name: 'wharf_log_archiver_pending_jobs',
      help: 'Finished or deleted Jobs still holding the archive finalizer.',
      registers,
    });
    this.oldestPendingSeconds = new Gauge({
      name: 'wharf_log_archiver_oldest_pending_seconds',
      help: 'Age of the oldest Job waiting for its logs to be archived (0 when none).',
      registers,
    });
    this.storeUp = new Gauge({
      name: 'wharf_log_archiver_store_up',
      help: '1 when the last archive store operation succeeded, 0 when it failed.',
      registers,
    });
    this.archiveSeconds = new Histogram({
      name: 'wharf_log_archiver_archive_duration_seconds',
      help: 'Duration of a successful archive pass (logs, manifest, observation, finalizer, delete).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
  }
}
