import { JobEvent, JobState } from '@wharf/contracts';
import { aSpec } from '../domain/test-builders';
import { EventHub, type PositionedEvent } from './event-hub';

const at = new Date('2026-01-02T03:04:05.678Z');

function anEvent(jobId: string, sequence: number, partition: number, offset: number): PositionedEvent {
  const base = { jobId, sequence, time: new Date(at.getTime() + sequence), tenant: 'acme', queue: 'batch', run: sequence > 1 ? 1 : 0 };
  const event =
    sequence === 1
      ? JobEvent.fromPartial({ ...base, state: JobState.JOB_STATE_QUEUED, submitted: { spec: aSpec({ name: jobId, items: ['a', 'b'], labels: { k: 'v' } }) } })
      : JobEvent.fromPartial({ ...base, state: JobState.JOB_STATE_RUNNING, runStarted: {} });
  return { event, position: { partition, offset: String(offset) } };
}

describe('EventHub', () => {
  it('replays a job from a sequence with the events as published, and hands listeners the live ones', () => {
    const hub = new EventHub();
    const live: PositionedEvent[] = [];
    hub.subscribe((item) => live.push(item));
    const published = [anEvent('a', 1, 0, 10), anEvent('b', 1, 1, 4), anEvent('a', 2, 0, 11), anEvent('a', 3, 0, 12)];
    for (const item of published) hub.publish(item);
    expect(live).toEqual(published);
    expect(live[0]).toBe(published[0]);
    expect(hub.history('a', 0)).toEqual({ events: [published[0], published[2], published[3]], complete: true });
    expect(hub.history('a', 2)).toEqual({ events: [published[3]], complete: true });
    expect(hub.history('missing', 0)).toEqual({ events: [], complete: true });
  });

  it('keeps each sequence once, and says when older events were dropped', () => {
    const hub = new EventHub({ maxEventsPerJob: 2 });
    for (const seq of [1, 2, 2, 1, 3]) hub.publish(anEvent('a', seq, 0, seq));
    const { events, complete } = hub.history('a', 0);
    expect(events.map((e) => e.event.sequence)).toEqual([2, 3]);
    expect(complete).toBe(false);
    expect(hub.history('a', 1).complete).toBe(true);
    hub.forget('a');
    expect(hub.history('a', 0).events).toEqual([]);
  });

  it('replays recent events after per-partition offsets, bounded', () => {
    const hub = new EventHub({ maxRecentEvents: 3 });
    const published = [anEvent('a', 1, 0, 1), anEvent('b', 1, 1, 1), anEvent('a', 2, 0, 2), anEvent('c', 1, 1, 2)];
    for (const item of published) hub.publish(item);
    expect(hub.since(new Map())).toEqual(published.slice(1));
    expect(hub.since(new Map([[0, 1n], [1, 2n]]))).toEqual([published[2]]);
  });
});
