import { RecordHeaders } from '@wharf/contracts';
import { describeError, type Logger } from '@wharf/platform';
import type { Clock } from '@wharf/platform';
import { InFlightWindow } from './in-flight-window';
import type { AckCallback, OutRecord, RecordOutcome, RecordSink } from './ports';
import { compileProcessors, runSteps, type ProcessorStep, type StepOutcome, type StreamRecord } from './processor-chain';
import { serializerFor, type RecordSerializer } from './record-serializer';
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
  lastError: string;
}

export function emptyCounters(): StreamCounters {
  return { recordsIn: 0, recordsOut: 0, filtered: 0, dlq: 0, errors: 0, bytesIn: 0, bytesOut: 0, lastError: '' };
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
 */
export class StreamRunner {
  readonly window: InFlightWindow;
  readonly counters: StreamCounters;
  private readonly steps: readonly ProcessorStep[];
  private readonly serialize: RecordSerializer;
  private readonly batcher: SinkBatcher;
  private readonly sinkHeaders: Readonly<Record<string, string>>;
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
    const bytes = input.value.length;
    this.window.add(bytes);
    this.counters.recordsIn++;
    this.counters.bytesIn += bytes;
    const record: StreamRecord = {
      value: input.value,
      raw: input.value,
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
    for (const item of rest) this.settle(item, reason);
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
      this.settle(item, undefined, 'filtered');
      return;
    }
    let value: Buffer;
    try {
      value = this.serialize(item.record.value);
    } catch (error) {
      this.rejected(item, error);
      return;
    }
    const headers = this.headersOf(item.record.headers);
    const record: OutRecord = headers ? { key: item.record.key, value, headers } : { key: item.record.key, value };
    const size = value.length;
    this.batcher.enqueue({
      dlq: false,
      record,
      bytes: size,
      done: (error) => {
        if (!error) {
          this.counters.recordsOut++;
          this.counters.bytesOut += size;
        }
        this.settle(item, error, 'written');
      },
    });
  }

  private rejected(item: Item, error: unknown): void {
    if (this.abort.signal.aborted || error instanceof StreamStoppedError) {
      this.settle(item, error instanceof Error ? error : new StreamStoppedError('stream stopped'));
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
    const dlqItem: SinkItem = {
      dlq: true,
      record: { key: item.record.key, value: item.record.raw, headers },
      bytes: item.bytes,
      done: (sendError) => {
        if (!sendError) this.counters.dlq++;
        this.settle(item, sendError, 'dead-lettered');
      },
    };
    this.batcher.enqueue(dlqItem);
  }

  private settle(item: Item, error?: unknown, outcome?: RecordOutcome): void {
    this.window.release(item.bytes);
    if (error !== undefined && !(error instanceof StreamStoppedError)) this.noteError(error);
    if (error === undefined) item.done?.(undefined, outcome);
    else item.done?.(error instanceof Error ? error : new Error(String(error)));
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
