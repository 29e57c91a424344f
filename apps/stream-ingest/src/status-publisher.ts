import { ContentTypes, encodeMessage, RecordHeaders, StreamStatus, Topics } from '@wharf/contracts';
import { describeError, type Component, type Logger } from '@wharf/platform';
import type { Clock } from '@wharf/platform';
import type { RecordSink, TopicEnsurer } from './ports';
import type { ManagedStream } from './stream-manager';

export interface StatusPublisherOptions {
  readonly sink: RecordSink;
  readonly replicaId: string;
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly streams: () => readonly ManagedStream[];
  /** Creates wharf.streams.status when missing (a standalone deployment has no scheduler). */
  readonly topics?: TopicEnsurer;
  /** @default 6 */
  readonly partitions?: number;
}

/** A stream's status record: a pure function of its snapshot (exported for tests). */
export function statusOf(stream: ManagedStream, replica: string, bytesPerSecond: number, now: number): StreamStatus {
  const c = stream.counters;
  return {
    streamId: stream.id,
    state: stream.state,
    replica,
    generation: stream.generation,
    recordsIn: c.recordsIn,
    recordsOut: c.recordsOut,
    errors: c.errors,
    dlq: c.dlq,
    bytesPerSecond,
    lag: stream.lag,
    lastError: c.lastError,
    updatedAt: new Date(now),
  };
}

/**
 * Publishes each stream's stats to wharf.streams.status (key: stream id, protobuf): every
 * interval for the streams running here, and at once when one changes state. A stream deleted
 * here is reported `stopped`; one that moved to another replica is not (its new owner reports).
 * Status is best effort: a failed publish is logged and the next interval tries again.
 */
export class StatusPublisher implements Component {
  readonly name = 'status-publisher';
  private cancel: (() => void) | undefined;
  private readonly lastBytes = new Map<string, { bytes: number; at: number }>();
  private stopped = false;

  constructor(private readonly options: StatusPublisherOptions) {}

  async start(): Promise<void> {
    await this.options.topics?.ensure([{ topic: Topics.streamsStatus, partitions: this.options.partitions ?? 6 }]);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.publishAll().catch(() => undefined);
  }

  /** A stream changed state (undefined: it is gone from this replica). */
  changed(id: string, stream: ManagedStream | undefined, deleted: boolean): void {
    if (stream) {
      void this.publish([stream]);
      return;
    }
    this.lastBytes.delete(id);
    if (!deleted) return;
    const now = this.options.clock.now();
    const status: StreamStatus = {
      streamId: id,
      state: 'stopped',
      replica: this.options.replicaId,
      generation: 0,
      recordsIn: 0,
      recordsOut: 0,
      errors: 0,
      dlq: 0,
      bytesPerSecond: 0,
      lag: 0,
      lastError: '',
      updatedAt: new Date(now),
    };
    void this.send([status]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancel = this.options.clock.setTimer(() => {
      void this.publishAll().finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private publishAll(): Promise<void> {
    return this.publish(this.options.streams());
  }

  private async publish(streams: readonly ManagedStream[]): Promise<void> {
    if (streams.length === 0) return;
    const now = this.options.clock.now();
    const statuses = streams.map((stream) => {
      const previous = this.lastBytes.get(stream.id);
      const bytes = stream.counters.bytesOut;
      const seconds = previous ? (now - previous.at) / 1000 : 0;
      const rate = previous && seconds > 0 ? Math.max(0, (bytes - previous.bytes) / seconds) : 0;
      this.lastBytes.set(stream.id, { bytes, at: now });
      return statusOf(stream, this.options.replicaId, rate, now);
    });
    await this.send(statuses);
  }

  private async send(statuses: readonly StreamStatus[]): Promise<void> {
    try {
      await this.options.sink.send(
        Topics.streamsStatus,
        statuses.map((status) => ({
          key: status.streamId,
          value: encodeMessage(StreamStatus, status, ContentTypes.protobuf),
          headers: { [RecordHeaders.contentType]: ContentTypes.protobuf },
        })),
      );
    } catch (error) {
      this.options.logger.warn({ topic: Topics.streamsStatus, err: describeError(error) }, 'stream status publish failed');
    }
  }
}
