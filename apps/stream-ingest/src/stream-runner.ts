import { RecordHeaders } from '@wharf/contracts';
import { describeError, type Logger } from '@wharf/platform';
import type { Clock } from '@wharf/platform';
import { InFlightWindow } from './in-flight-window';
import type { AckCallback, RecordOutcome, RecordSink } from './ports';
import { compileProcessors, runSteps, type ProcessorStep, type StepOutcome, type StreamRecord } from './processor-chain';
import { serializerFor, Serializers, type RecordSerializer } from './record-serializer';
import { SinkBatcher, StreamHeaders, type SinkItem } from './sink-batcher';
import type { StreamDefinition } from './stream-definition';
import { RecordRejectedError, StreamStoppedError } from './stream-errors';

/** A record as a source hands it over. */
export interface IngestRecord {
  readonly value: Buffer;
  readonly key?: string | Buffer | null;
  /** Source facts worth keeping (the SSE event id…); copied to the Kafka record's headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Running totals of one stream (reported on wharf.streams.status and /metrics). */
export interface StreamCounters {
  recordsIn: number;
  recordsOut: number;
  filtered: number;
  dlq: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  /** Produce requests the sink acknowledged (records out ÷ batches = the average batch). */
  batches: number;
  lastError: string;
}

export function emptyCounters(): StreamCounters {
  return { recordsIn: 0, recordsOut: 0, filtered: 0, dlq: 0, errors: 0, bytesIn: 0, bytesOut: 0, batches: 0, lastError: '' };
}

export interface BatchingOptions {
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
}

export interface StreamRunnerOptions {
  readonly definition: StreamDefinition;
  readonly sink: RecordSink;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly batching?: BatchingOptions;
  /** Shared with the stream's previous runner, so totals survive a restart. */
  readonly counters?: StreamCounters;
}

/** Shared by every record without source headers (nothing writes to a record's headers). */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A record waiting for (or in) the processors. */
interface Item {
  readonly record: StreamRecord;
  readonly bytes: number;
  readonly done: AckCallback | undefined;
}

/**
 * The part of a stream between its source and Kafka: processors → serializer → sink batcher,
 * with the in-flight window the source uses for backpressure.
 *
 * Records go through the processors one at a time, in submission order (a waiting rate limit
 * or expression holds the ones behind it), so order per key is kept from source to sink.
 * Each record's ack callback runs once: when it is in the sink topic, in the DLQ, or dropped by
 * a filter — or with {@link StreamStoppedError} when the stream stopped first. Sources advance
 * their positions only on success.
 *
 * Direct lane: a stream without processors whose serializer passes bytes through unchanged
 * (`bytes`) has nothing to do per record but hand it to the batcher: the value goes to Kafka
 * as the very Buffer the source delivered (no decode, no copy), with no intermediate record,
 * queue or promise. Acks are settled per batch (one window release, one counter update).
 */
export class StreamRunner {
  readonly window: InFlightWindow;
  readonly counters: StreamCounters;
  private readonly steps: readonly ProcessorStep[];
  private readonly serialize: RecordSerializer;
  private readonly batcher: SinkBatcher;
  private readonly sinkHeaders: Readonly<Record<string, string>>;
  /** The sink headers as one shared object (undefined when there are none). */
  private readonly fixedHeaders: Readonly<Record<string, string>> | undefined;
  /** No processors and a pass-through serializer: see the class comment. */
  private readonly direct: boolean;
  private readonly abort = new AbortController();
  private queue: Item[] = [];
  private head = 0;
  private pumping = false;
  private stopped = false;
  private drainWaiters: (() => void)[] = [];

  constructor(private readonly options: StreamRunnerOptions) {
    const { definition } = options;
    this.counters = options.counters ?? emptyCounters();
    this.window = new InFlightWindow({ maxRecords: definition.limits.maxRecords, maxBytes: definition.limits.maxBytes });
    this.steps = compileProcessors(definition.processors, { streamId: definition.id, clock: options.clock }).steps;
    this.serialize = serializerFor(definition.sink.serializer);
    this.sinkHeaders = definition.sink.headers;
    this.fixedHeaders = Object.keys(this.sinkHeaders).length > 0 ? Object.freeze({ ...this.sinkHeaders }) : undefined;
    this.direct = this.steps.length === 0 && definition.sink.serializer === Serializers.bytes;
    this.batcher = new SinkBatcher({
      sink: options.sink,
      topic: definition.sink.topic,
      dlqTopic: definition.sink.dlqTopic,
      streamId: definition.id,
      clock: options.clock,
      logger: options.logger,
      maxBatchRecords: options.batching?.maxBatchRecords,
      maxBatchBytes: options.batching?.maxBatchBytes,
      onError: (error) => this.noteError(error),
      onBatch: () => this.counters.batches++,
      settle: (items, error) => this.settleItems(items, error),
    });
  }

  get id(): string {
    return this.options.definition.id;
  }

  /** Records submitted and not yet acknowledged. */
  get inFlight(): number {
    return this.window.records;
  }

  /**
   * Hands over one record. Never blocks: sources keep themselves within the window (check
   * `window.full`, wait for `window.whenOpen()`). After stop, fails the record at once.
   */
  submit(input: IngestRecord, done?: AckCallback): void {
    if (this.stopped) {
      done?.(new StreamStoppedError('the stream is stopping'));
      return;
    }
    const value = input.value;
    const bytes = value.length;
    this.window.add(bytes);
    this.counters.recordsIn++;
    this.counters.bytesIn += bytes;
    if (this.direct) {
      const headers = input.headers ? this.headersOf(input.headers) : this.fixedHeaders;
      this.batcher.enqueue({ key: input.key ?? null, value, headers, dlq: false, bytes, held: bytes, done });
      return;
    }
    const record: StreamRecord = {
      value,
      raw: value,
      key: input.key ?? null,
      headers: input.headers ? { ...input.headers } : NO_HEADERS,
    };
    this.queue.push({ record, bytes, done });
    if (!this.pumping) this.pump();
  }

  /**
   * Stops intake, lets what is in flight reach Kafka for up to `drainMs`, then fails the rest
   * with {@link StreamStoppedError}. Waiting rate limits are cut short (their records fail).
   */
  async stop(drainMs: number): Promise<void> {
    this.stopped = true;
    let timer: (() => void) | undefined;
    const drained = new Promise<void>((resolve) => {
      if (this.window.records === 0) resolve();
      else this.drainWaiters.push(resolve);
    });
    const deadline = new Promise<void>((resolve) => {
      timer = this.options.clock.setTimer(resolve, drainMs);
    });
    await Promise.race([drained, deadline]);
    timer?.();
    const reason = new StreamStoppedError('stream stopped before the sink acknowledged');
    this.abort.abort(reason);
    this.batcher.close(reason);
    const rest = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const item of rest) this.settle(item.bytes, item.done, reason);
  }

  private pump(): void {
    this.pumping = true;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head++] as Item;
      let outcome: StepOutcome | Promise<StepOutcome>;
      try {
        outcome = runSteps(this.steps, item.record, this.abort.signal);
      } catch (error) {
        this.rejected(item, error);
        continue;
      }
      if (outcome instanceof Promise) {
        outcome
          .then(
            (resolved) => this.processed(item, resolved),
            (error: unknown) => this.rejected(item, error),
          )
          .finally(() => this.pump());
        return; // still pumping: the continuation picks up the rest, in order
      }
      this.processed(item, outcome);
    }
    this.queue = [];
    this.head = 0;
    this.pumping = false;
  }

  private processed(item: Item, outcome: StepOutcome): void {
    if (outcome === 'drop') {
      this.counters.filtered++;
      this.settle(item.bytes, item.done, undefined, 'filtered');
      return;
    }
    let value: Buffer;
    try {
      value = this.serialize(item.record.value);
    } catch (error) {
      this.rejected(item, error);
      return;
    }
    const headers = item.record.headers === NO_HEADERS ? this.fixedHeaders : this.headersOf(item.record.headers);
    this.batcher.enqueue({ key: item.record.key, value, headers, dlq: false, bytes: value.length, held: item.bytes, done: item.done });
  }

  private rejected(item: Item, error: unknown): void {
    if (this.abort.signal.aborted || error instanceof StreamStoppedError) {
      this.settle(item.bytes, item.done, error instanceof Error ? error : new StreamStoppedError('stream stopped'));
      return;
    }
    if (!(error instanceof RecordRejectedError)) {
      // A bug in a processor, not a property of the record: still park it, loudly.
      this.options.logger.error({ streamId: this.id, err: describeError(error) }, 'processor failed unexpectedly');
    }
    this.noteError(error);
    const headers: Record<string, string> = { ...item.record.headers };
    headers[RecordHeaders.error] = describeError(error).slice(0, 4096);
    headers[RecordHeaders.errorType] = error instanceof Error ? error.name : typeof error;
    headers[StreamHeaders.errorStep] = error instanceof RecordRejectedError ? error.step : 'processors';
    headers[StreamHeaders.streamId] = this.id;
    const raw = item.record.raw;
    this.batcher.enqueue({ key: item.record.key, value: raw, headers, dlq: true, bytes: raw.length, held: item.bytes, done: item.done });
  }

  /** Settles what the batcher finished: one window release and counter update per group. */
  private settleItems(items: readonly SinkItem[], error?: Error): void {
    let held = 0;
    let out = 0;
    let bytesOut = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as SinkItem;
      held += item.held;
      if (!item.dlq) {
        out++;
        bytesOut += item.bytes;
      }
    }
    if (error === undefined) {
      this.counters.recordsOut += out;
      this.counters.bytesOut += bytesOut;
      this.counters.dlq += items.length - out;
    } else if (!(error instanceof StreamStoppedError)) {
      this.noteError(error);
      this.counters.errors += items.length - 1; // one error per record not delivered
    }
    this.window.releaseMany(items.length, held);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as SinkItem;
      if (item.done === undefined) continue;
      if (error === undefined) item.done(undefined, item.dlq ? 'dead-lettered' : 'written');
      else item.done(error);
    }
    this.wakeDrained();
  }

  private settle(held: number, done: AckCallback | undefined, error?: unknown, outcome?: RecordOutcome): void {
    this.window.release(held);
    if (error !== undefined && !(error instanceof StreamStoppedError)) this.noteError(error);
    if (error === undefined) done?.(undefined, outcome);
    else done?.(error instanceof Error ? error : new Error(String(error)));
    this.wakeDrained();
  }

  private wakeDrained(): void {
    if (this.window.records === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private noteError(error: unknown): void {
    this.counters.errors++;
    this.counters.lastError = describeError(error).slice(0, 1024);
  }

  private headersOf(source: Readonly<Record<string, string>>): Record<string, string> | undefined {
    let headers: Record<string, string> | undefined;
    for (const name in this.sinkHeaders) (headers ??= {})[name] = this.sinkHeaders[name] as string;
    for (const name in source) (headers ??= {})[name] = source[name] as string;
    return headers;
  }
}
