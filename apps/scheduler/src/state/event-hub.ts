import { encodeProtobuf, JobEvent } from '@wharf/contracts';
import { pack, unpack, type Packed } from './packed';
import type { EventPosition } from './state-log';

export interface PositionedEvent {
  readonly event: JobEvent;
  readonly position: EventPosition;
}

export type EventListener = (item: PositionedEvent) => void;

export interface EventHubOptions {
  /** Events kept per job for replay. @default 10_000 */
  readonly maxEventsPerJob?: number;
  /** Events kept for WatchJobs replay, over all jobs. @default 100_000 */
  readonly maxRecentEvents?: number;
}

/** An event as the hub keeps it for replay: encoded (ADR 0012), with what replay filters on. */
class StoredEvent {
  constructor(
    readonly sequence: number,
    readonly partition: number,
    readonly offset: string,
    readonly packed: Packed,
  ) {}

  static of({ event, position }: PositionedEvent): StoredEvent {
    return new StoredEvent(event.sequence, position.partition, position.offset, pack(encodeProtobuf(JobEvent, event)));
  }

  decode(): PositionedEvent {
    return { event: JobEvent.decode(unpack(this.packed)), position: { partition: this.partition, offset: this.offset } };
  }
}

/**
 * Committed job events, in memory, for WatchJob/WatchJobs: a per-job history (replay from a
 * sequence), a bounded log of recent events over all jobs (replay from a resume token), and
 * live listeners. Fed only after a commit, so nobody sees an event that is not durable. Kept
 * events are encoded and decoded again for a replay; listeners get the event as published.
 */
export class EventHub {
  private readonly byJob = new Map<string, StoredEvent[]>();
  private readonly recent: StoredEvent[] = [];
  private recentStart = 0;
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly options: EventHubOptions = {}) {}

  publish(item: PositionedEvent): void {
    const jobId = item.event.jobId;
    let history = this.byJob.get(jobId);
    const last = history?.[history.length - 1];
    // Restores and live commits may overlap: each sequence once, in order.
    if (last && last.sequence >= item.event.sequence) return;
    const stored = StoredEvent.of(item);
    if (!history) {
      history = [stored];
      this.byJob.set(jobId, history);
    } else history.push(stored);
    const maxPerJob = this.options.maxEventsPerJob ?? 10_000;
    if (history.length > maxPerJob) history.splice(0, history.length - maxPerJob);
    this.recent.push(stored);
    const maxRecent = this.options.maxRecentEvents ?? 100_000;
    if (this.recent.length - this.recentStart > maxRecent) {
      this.recentStart++;
      if (this.recentStart > maxRecent) {
        this.recent.splice(0, this.recentStart);
        this.recentStart = 0;
      }
    }
    for (const listener of this.listeners) listener(item);
  }

  /** A job's events with sequence > `after`; `complete` is false when older ones were dropped. */
  history(jobId: string, after: number): { events: PositionedEvent[]; complete: boolean } {
    const history = this.byJob.get(jobId) ?? [];
    const first = history[0]?.sequence ?? after + 1;
    return { events: history.filter((e) => e.sequence > after).map((e) => e.decode()), complete: first <= after + 1 };
  }

  /** Recent events after the given per-partition offsets (absent partitions: everything kept). */
  since(offsets: ReadonlyMap<number, bigint>): PositionedEvent[] {
    const out: PositionedEvent[] = [];
    for (let i = this.recentStart; i < this.recent.length; i++) {
      const stored = this.recent[i] as StoredEvent;
      const seen = offsets.get(stored.partition);
      if (seen === undefined || BigInt(stored.offset) > seen) out.push(stored.decode());
    }
    return out;
  }

  forget(jobId: string): void {
    this.byJob.delete(jobId);
  }

  clear(): void {
    this.byJob.clear();
    this.recent.length = 0;
    this.recentStart = 0;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** WatchJobs resume tokens: the last offset seen per wharf.job-events partition. */
export function encodeResumeToken(offsets: ReadonlyMap<number, bigint>): string {
  const entries = [...offsets].sort(([a], [b]) => a - b).map(([p, o]) => `${p}:${o}`);
  return Buffer.from(entries.join(','), 'utf8').toString('base64url');
}

/** Thrown: Error on a malformed token (the API maps it to INVALID_ARGUMENT). */
export function decodeResumeToken(token: string): Map<number, bigint> {
  const offsets = new Map<number, bigint>();
  if (token === '') return offsets;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  for (const part of text.split(',')) {
    const match = /^(\d+):(-?\d+)$/.exec(part);
    if (!match) throw new Error('malformed resume token');
    offsets.set(Number(match[1]), BigInt(match[2] as string));
  }
  return offsets;
}
