import { ContentTypes, Observation, Topics } from '@wharf/contracts';
import { messageRecord, type Logger, type ProducerRecord, type RecordSender } from '@wharf/platform';
import type { KeyedObservation } from '../watch/status-interpreter';

export interface ObservationPublisherOptions {
  readonly sender: Pick<RecordSender, 'send'>;
  readonly logger: Logger;
  /** Runs whose published facts are remembered to skip repeats; the oldest are forgotten first. */
  readonly runsLimit: number;
  /** @default Topics.observations */
  readonly topic?: string;
  /**
   * Most bytes (record values) of one combined send: publishes waiting for the same send are
   * joined up to this size; a single publish larger than it is still sent (alone).
   * @default 256 KiB (well below the broker's 1 MiB record batch limit)
   */
  readonly maxBatchBytes?: number;
}

/** One publish() waiting for its records to be sent. */
interface Waiting {
  readonly fresh: readonly KeyedObservation[];
  readonly records: readonly ProducerRecord[];
  readonly bytes: number;
  readonly resolve: (published: number) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Publishes observations to `wharf.observations` (key: job id, protobuf), skipping facts this
 * process already published. Skipping is an optimisation only: after a restart everything is
 * published again once, which the scheduler absorbs (observations are idempotent facts).
 *
 * A batch is marked published only after Kafka acknowledged it (acks=all), so a failed send is
 * retried by the caller and nothing is lost.
 *
 * Publishes that arrive while a send is in flight wait and then go out together in one send
 * (the producer sends to a topic one request at a time anyway): a restarted launcher reporting
 * thousands of Jobs, or a burst of launches, costs a few produce requests per round trip
 * instead of one round trip per Job. Each caller's records keep their order, and callers are
 * sent in call order. When a joined send fails, each caller's records are sent again on their
 * own, so one caller's bad record (too large…) fails that caller only.
 */
export class ObservationPublisher {
  /** `<jobId>/<run>` → facts published for it; Map order = least recently used first. */
  private readonly published = new Map<string, Set<string>>();
  private readonly topic: string;
  private readonly maxBatchBytes: number;
  private readonly waiting: Waiting[] = [];
  private sending = false;

  constructor(private readonly options: ObservationPublisherOptions) {
    this.topic = options.topic ?? Topics.observations;
    this.maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
  }

  /** Resolves with the number of facts sent; thrown: the producer's error (UnavailableError… retriable). */
  async publish(observations: readonly KeyedObservation[]): Promise<number> {
    const fresh = observations.filter((o) => !this.has(o.key));
    if (fresh.length === 0) return 0;
    const records = fresh.map((o) => messageRecord(o.observation.jobId, Observation, o.observation, ContentTypes.protobuf));
    const bytes = records.reduce((n, r) => n + (r.value?.length ?? 0), 0);
    return new Promise<number>((resolve, reject) => {
      this.waiting.push({ fresh, records, bytes, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  /** Sends what waits, joined up to maxBatchBytes per send, until nothing waits. */
  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.waiting.length > 0) {
        let bytes = 0;
        let n = 0;
        for (const w of this.waiting) {
          if (n > 0 && bytes + w.bytes > this.maxBatchBytes) break;
          bytes += w.bytes;
          n++;
        }
        const batch = this.waiting.splice(0, n);
        try {
          await this.options.sender.send(this.topic, batch.flatMap((w) => w.records));
          for (const w of batch) this.done(w);
        } catch (error) {
          if (batch.length === 1) batch[0]?.reject(error);
          else await this.sendEach(batch);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** After a joined send failed: each caller alone, so an error reaches only whom it concerns. */
  private async sendEach(batch: readonly Waiting[]): Promise<void> {
    for (const w of batch) {
      try {
        await this.options.sender.send(this.topic, w.records);
        this.done(w);
      } catch (error) {
        w.reject(error);
      }
    }
  }

  private done(w: Waiting): void {
    for (const o of w.fresh) this.remember(o.key);
    for (const o of w.fresh) {
      this.options.logger.debug(
        { jobId: o.observation.jobId, run: o.observation.run, fact: o.key.split('/').slice(2).join('/') },
        'observation published',
      );
    }
    w.resolve(w.fresh.length);
  }

  /** Forgets a run's keys (its Job is gone, nothing more will be observed). */
  forget(jobId: string, run: number): void {
    this.published.delete(`${jobId}/${run}`);
  }

  has(key: string): boolean {
    const [run, fact] = splitKey(key);
    return this.published.get(run)?.has(fact) ?? false;
  }

  private remember(key: string): void {
    const [run, fact] = splitKey(key);
    const facts = this.published.get(run) ?? new Set<string>();
    this.published.delete(run); // re-insert: most recently used last
    facts.add(fact);
    this.published.set(run, facts);
    if (this.published.size > this.options.runsLimit) {
      const oldest = this.published.keys().next().value;
      if (oldest !== undefined) this.published.delete(oldest);
    }
  }
}

/** `<jobId>/<run>/<fact…>` → [`<jobId>/<run>`, `<fact…>`]. */
function splitKey(key: string): [string, string] {
  const first = key.indexOf('/');
  const second = key.indexOf('/', first + 1);
  return [key.slice(0, second), key.slice(second + 1)];
}
