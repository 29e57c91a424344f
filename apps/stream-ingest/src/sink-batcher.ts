import { RecordHeaders } from '@wharf/contracts';
import { backoffDelay, describeError, isRetriable, type Logger } from '@wharf/platform';
import { sleepOn, type Clock } from '@wharf/platform';
import type { OutRecord, RecordSink } from './ports';
import { StreamStoppedError } from './stream-errors';

/** Extra DLQ headers stream-ingest adds to the platform's error headers. */
export const StreamHeaders = {
  streamId: 'wharf-stream-id',
  errorStep: 'wharf-error-step',
} as const;

export interface SinkItem {
  readonly dlq: boolean;
  readonly record: OutRecord;
  readonly bytes: number;
  /** Called once: no error when acknowledged by the broker. */
  readonly done: (error?: Error) => void;
}

export interface SinkBatcherOptions {
  readonly sink: RecordSink;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly streamId: string;
  /** @default 2_000 */
  readonly maxBatchRecords?: number;
  /** @default 1 MiB */
  readonly maxBatchBytes?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** @default { minDelayMs: 100, maxDelayMs: 5_000 } */
  readonly backoff?: { readonly minDelayMs: number; readonly maxDelayMs: number };
  /** A send failed (it is being retried, or the record failed for good). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Writes a stream's records to Kafka in order, one batch at a time.
 *
 * Batching adapts to the load with no linger: while one batch is in flight, the next one
 * accumulates and is sent as soon as the first is acknowledged (up to maxBatchRecords /
 * maxBatchBytes). One batch in flight per stream keeps records in order per key even when a
 * batch has to be retried: nothing later is sent before it.
 *
 * Failures: retriable errors (broker down, timeouts) are retried with backoff until they pass
 * or the batcher is closed; meanwhile the queue grows only as far as the stream's in-flight
 * window lets its source read. A non-retriable rejection of a batch (too large…) is retried
 * record by record; a sink record the broker rejects on its own goes to the DLQ with the error;
 * a DLQ record it rejects fails its ack callback.
 */
export class SinkBatcher {
  private queue: SinkItem[] = [];
  private head = 0;
  private running = false;
  private closed: Error | undefined;
  private readonly abort = new AbortController();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SinkBatcherOptions) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  enqueue(item: SinkItem): void {
    if (this.closed) {
      item.done(this.closed);
      return;
    }
    this.queue.push(item);
    if (!this.running) void this.loop();
  }

  /** Resolves when everything enqueued so far was acknowledged (or failed). */
  idle(): Promise<void> {
    if (!this.running && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Fails every queued record (and a batch being retried) with `reason`; later enqueues fail too. */
  close(reason: Error = new StreamStoppedError('stream stopped before the sink acknowledged')): void {
    this.closed ??= reason;
    this.abort.abort(reason);
    const rest = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const item of rest) item.done(reason);
    if (!this.running) this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private takeBatch(): SinkItem[] {
    const maxRecords = this.options.maxBatchRecords ?? 2_000;
    const maxBytes = this.options.maxBatchBytes ?? 1024 * 1024;
    const end = Math.min(this.queue.length, this.head + maxRecords);
    let bytes = 0;
    let i = this.head;
    for (; i < end; i++) {
      const size = (this.queue[i] as SinkItem).bytes;
      if (i > this.head && bytes + size > maxBytes) break;
      bytes += size;
    }
    const batch = this.queue.slice(this.head, i);
    this.head = i;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.pending > 0 && !this.closed) {
        const batch = this.takeBatch();
        const sinkItems = batch.filter((item) => !item.dlq);
        const dlqItems = batch.filter((item) => item.dlq);
        if (sinkItems.length > 0) await this.deliver(this.options.topic, sinkItems, false);
        if (dlqItems.length > 0) await this.deliver(this.options.dlqTopic, dlqItems, true);
      }
    } finally {
      this.running = false;
      if (this.pending === 0 || this.closed) this.wakeIdle();
      else void this.loop();
    }
  }

  /** Sends `items` until acknowledged; settles every item's callback. */
  private async deliver(topic: string, items: readonly SinkItem[], dlq: boolean): Promise<void> {
    const outcome = await this.sendWithRetry(topic, items);
    if (outcome === 'ok') {
      for (const item of items) item.done();
      return;
    }
    if (outcome === 'closed') {
      const reason = this.closed ?? new StreamStoppedError('stream stopped');
      for (const item of items) item.done(reason);
      return;
    }
    // Rejected for good: find the culprit record by record.
    if (items.length > 1) {
      for (const item of items) await this.deliver(topic, [item], dlq);
      return;
    }
    const item = items[0] as SinkItem;
    const error = outcome.error;
    if (dlq) {
      this.options.logger.error(
        { streamId: this.options.streamId, topic, err: describeError(error) },
        'the broker rejected a dead-letter record; it is reported as failed',
      );
      item.done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const headers: Record<string, string | Buffer> = { ...(item.record.headers ?? {}) };
    headers[RecordHeaders.error] = describeError(error).slice(0, 4096);
    headers[RecordHeaders.errorType] = error instanceof Error ? error.name : typeof error;
    headers[StreamHeaders.errorStep] = 'sink.produce';
    headers[StreamHeaders.streamId] = this.options.streamId;
    const dlqItem: SinkItem = { ...item, dlq: true, record: { ...item.record, headers } };
    await this.deliver(this.options.dlqTopic, [dlqItem], true);
  }

  private async sendWithRetry(
    topic: string,
    items: readonly SinkItem[],
  ): Promise<'ok' | 'closed' | { readonly error: unknown }> {
    const records = items.map((item) => item.record);
    const backoff = this.options.backoff ?? { minDelayMs: 100, maxDelayMs: 5_000 };
    for (let attempt = 1; ; attempt++) {
      if (this.closed) return 'closed';
      try {
        // A close does not wait for a send in flight: its records fail now (they may still
        // land, a duplicate at worst when the source re-reads them).
        await untilAborted(this.options.sink.send(topic, records), this.abort.signal);
        return 'ok';
      } catch (error) {
        if (this.closed) return 'closed';
        this.options.onError?.(error);
        if (!isRetriable(error)) return { error };
        const delayMs = backoffDelay(attempt, backoff);
        this.options.logger.warn(
          { streamId: this.options.streamId, topic, records: records.length, attempt, delayMs, err: describeError(error) },
          'sink write failed; retrying',
        );
        try {
          await sleepOn(this.options.clock, delayMs, this.abort.signal);
        } catch {
          return 'closed';
        }
      }
    }
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
