import type { Logger } from '@wharf/platform';
import type { Clock } from '@wharf/platform';
import type { InFlightWindow } from './in-flight-window';
import type { AckCallback } from './ports';
import type { IngestRecord } from './stream-runner';

/** What a running source may use: the runner's intake and window, and its stream's facts. */
export interface SourceContext {
  readonly streamId: string;
  submit(record: IngestRecord, done?: AckCallback): void;
  /** Check `full` before reading more; wait for `whenOpen()` when it is. */
  readonly window: InFlightWindow;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A problem worth showing in the stream's status (`last_error`), e.g. a failed connect. */
  reportError(error: unknown): void;
}

/**
 * Where a stream's records come from. `start` begins reading in the background and resolves
 * once the source is set up (a listener registered, a consumer joined); `stop` stops intake
 * and resolves when the source will submit nothing more. Positions (SSE ids, Kafka offsets,
 * webhook answers) advance only when a record's ack callback reports success.
 */
export interface StreamSource {
  start(context: SourceContext): Promise<void>;
  stop(): Promise<void>;
  /** Records the source knows are waiting upstream (Kafka consumer lag); 0 when unknown. */
  lag?(): number;
}

/**
 * Tracks acks of records submitted in order and reports the newest position whose record and
 * every record before it were acknowledged: where a reconnect may resume from.
 */
export class OrderedAcks<P> {
  private readonly entries: { position: P | undefined; acked: boolean }[] = [];
  private head = 0;
  /** The newest position acknowledged with everything before it. */
  committed: P | undefined;

  constructor(initial?: P) {
    this.committed = initial;
  }

  /** Registers the next record; call the returned function when it is acknowledged. */
  track(position: P | undefined): () => void {
    const entry = { position, acked: false };
    this.entries.push(entry);
    return () => {
      entry.acked = true;
      while (this.head < this.entries.length && (this.entries[this.head] as { acked: boolean }).acked) {
        const done = this.entries[this.head++] as { position: P | undefined };
        if (done.position !== undefined) this.committed = done.position;
      }
      if (this.head > 1024 && this.head * 2 > this.entries.length) {
        this.entries.splice(0, this.head);
        this.head = 0;
      }
    };
  }

  get pending(): number {
    return this.entries.length - this.head;
  }
}

/** Lets the event loop run I/O: a tight loop of resolved promises would starve it. */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
