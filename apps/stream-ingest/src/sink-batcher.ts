import { RecordHeaders } from '@wharf/contracts';
import { backoffDelay, describeError, isRetriable, type Logger } from '@wharf/platform';
import { sleepOn, type Clock } from '@wharf/platform';
import type { AckCallback, OutRecord, RecordSink } from './ports';
import { StreamStoppedError } from './stream-errors';

/** Extra DLQ headers stream-ingest adds to the platform's error headers. */
export const StreamHeaders = {
  streamId: 'wharf-stream-id',
  errorStep: 'wharf-error-step',
} as const;

/**
 * One record on its way to Kafka. It is also the record handed to the sink (structurally an
 * {@link OutRecord}: key, value, headers), so the way to Kafka allocates nothing more per record.
 */
export interface SinkItem extends OutRecord {
  /** True: goes to the DLQ topic. */
  readonly dlq: boolean;
  /** Size of the produced value (counted against maxBatchBytes and bytes out). */
  readonly bytes: number;
  /** Bytes the record holds in its stream's in-flight window until it is settled. */
  readonly held: number;
  /** The source's ack callback, if it wants one. */
  readonly done: AckCallback | undefined;
}

/**
 * Called once for every enqueued item, in enqueue order, in groups: without an error when the
 * broker acknowledged them (in the sink topic, or in the DLQ when `item.dlq`), with one when
 * they failed for good (or the batcher was closed).
 */
export type SettleItems = (items: readonly SinkItem[], error?: Error) => void;

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
  readonly settle: SettleItems;
  /** A send failed (it is being retried, or the record failed for good). */
  readonly onError?: (error: unknown) => void;
  /** A batch was acknowledged (for the stream's stats). */
  readonly onBatch?: (records: number) => void;
}

/**
 * Writes a stream's records to Kafka in order, one batch at a time.
 *
 * Batching adapts to the load with no linger: while one batch is in flight, the next one
 * accumulates and is sent as soon as the first is acknowledged (up to maxBatchRecords /
 * maxBatchBytes). One batch in flight per stream keeps records in order per key even when a
 * batch has to be retried: nothing later is sent before it. A batch is a run of consecutive
 * records for the same topic (sink or DLQ), so order is kept across the two as well.
 *
 * Acks are per batch: one settle call for the whole batch, no callback or promise per record.
 *
 * Failures: retriable errors (broker down, timeouts) are retried with backoff until they pass
 * or the batcher is closed; meanwhile the queue grows only as far as the stream's in-flight
 * window lets its source read. A non-retriable rejection of a batch (too large…) is retried
 * record by record; a sink record the broker rejects on its own goes to the DLQ with the error;
 * a DLQ record it rejects fails.
 */
export class SinkBatcher {
  private queue: SinkItem[] = [];
  private head = 0;
  private running = false;
  private closed: Error | undefined;
  private readonly abort = new AbortController();
  private idleWaiters: (() => void)[] = [];
  private readonly maxRecords: number;
  private readonly maxBytes: number;

  constructor(private readonly options: SinkBatcherOptions) {
    this.maxRecords = options.maxBatchRecords ?? 2_000;
    this.maxBytes = options.maxBatchBytes ?? 1024 * 1024;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  enqueue(item: SinkItem): void {
    if (this.closed) {
      this.options.settle([item], this.closed);
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
    if (rest.length > 0) this.options.settle(rest, reason);
    if (!this.running) this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** The next batch: consecutive records for the same topic, within the limits. */
  private takeBatch(): SinkItem[] {
    const queue = this.queue;
    const first = this.head;
    const dlq = (queue[first] as SinkItem).dlq;
    const end = Math.min(queue.length, first + this.maxRecords);
    let bytes = (queue[first] as SinkItem).bytes;
    let i = first + 1;
    for (; i < end; i++) {
      const item = queue[i] as SinkItem;
      if (item.dlq !== dlq || bytes + item.bytes > this.maxBytes) break;
      bytes += item.bytes;
    }
    let batch: SinkItem[];
    if (first === 0 && i === queue.length) {
      // Everything queued goes: hand over the array itself, start a new one.
      batch = queue;
      this.queue = [];
      this.head = 0;
    } else {
      batch = queue.slice(first, i);
      this.head = i;
      if (this.head > 4096 && this.head * 2 > queue.length) {
        this.queue = queue.slice(this.head);
        this.head = 0;
      }
    }
    return batch;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.pending > 0 && !this.closed) {
        const batch = this.takeBatch();
        const dlq = (batch[0] as SinkItem).dlq;
        await this.deliver(dlq ? this.options.dlqTopic : this.options.topic, batch, dlq);
      }
    } finally {
      this.running = false;
      if (this.pending === 0 || this.closed) this.wakeIdle();
      else void this.loop();
    }
  }

  /** Sends `items` until acknowledged; settles every item. */
  private async deliver(topic: string, items: readonly SinkItem[], dlq: boolean): Promise<void> {
    const outcome = await this.sendWithRetry(topic, items);
    if (outcome === 'ok') {
      this.options.onBatch?.(items.length);
      this.options.settle(items);
      return;
    }
    if (outcome === 'closed') {
      this.options.settle(items, this.closed ?? new StreamStoppedError('stream stopped'));
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
      this.options.settle(items, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const headers: Record<string, string | Buffer> = { ...(item.headers ?? {}) };
    headers[RecordHeaders.error] = describeError(error).slice(0, 4096);
    headers[RecordHeaders.errorType] = error instanceof Error ? error.name : typeof error;
    headers[StreamHeaders.errorStep] = 'sink.produce';
    headers[StreamHeaders.streamId] = this.options.streamId;
    const dlqItem: SinkItem = { ...item, dlq: true, headers };
    await this.deliver(this.options.dlqTopic, [dlqItem], true);
  }

  private async sendWithRetry(
    topic: string,
    records: readonly SinkItem[],
  ): Promise<'ok' | 'closed' | { readonly error: unknown }> {
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
