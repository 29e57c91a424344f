import { ContentTypes, Observation, Topics } from '@wharf/contracts';
import { messageRecord, type Logger, type RecordSender } from '@wharf/platform';
import type { KeyedObservation } from '../watch/status-interpreter';

export interface ObservationPublisherOptions {
  readonly sender: Pick<RecordSender, 'send'>;
  readonly logger: Logger;
  /** Runs whose published facts are remembered to skip repeats; the oldest are forgotten first. */
  readonly runsLimit: number;
  /** @default Topics.observations */
  readonly topic?: string;
}

/**
 * Publishes observations to `wharf.observations` (key: job id, protobuf), skipping facts this
 * process already published. Skipping is an optimisation only: after a restart everything is
 * published again once, which the scheduler absorbs (observations are idempotent facts).
 *
 * A batch is marked published only after Kafka acknowledged it (acks=all), so a failed send is
 * retried by the caller and nothing is lost.
 */
export class ObservationPublisher {
  /** `<jobId>/<run>` → facts published for it; Map order = least recently used first. */
  private readonly published = new Map<string, Set<string>>();
  private readonly topic: string;

  constructor(private readonly options: ObservationPublisherOptions) {
    this.topic = options.topic ?? Topics.observations;
  }

  /** Thrown: the producer's error (UnavailableError… retriable). */
  async publish(observations: readonly KeyedObservation[]): Promise<number> {
    const fresh = observations.filter((o) => !this.has(o.key));
    if (fresh.length === 0) return 0;
    const records = fresh.map((o) => messageRecord(o.observation.jobId, Observation, o.observation, ContentTypes.protobuf));
    await this.options.sender.send(this.topic, records);
    for (const o of fresh) this.remember(o.key);
    for (const o of fresh) {
      this.options.logger.debug(
        { jobId: o.observation.jobId, run: o.observation.run, fact: o.key.split('/').slice(2).join('/') },
        'observation published',
      );
    }
    return fresh.length;
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
