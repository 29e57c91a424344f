import { JobEvent, JobState, RunState } from '@wharf/contracts';
import {
  describeEvent,
  parseEventKind,
  toSeenEvent,
  type EventKind,
  type SeenEvent,
} from './event-kinds';
import { decide, matchValue, SequenceMatcher, type ExpectedStep } from './sequence-matcher';

let sequence = 0;
function seen(kind: EventKind, payload: SeenEvent['payload'] = {}, state = 'RUNNING'): SeenEvent {
  sequence++;
  return { kind, sequence, run: 1, state, payload, atMs: sequence * 100 };
}
const steps = (...kinds: EventKind[]): ExpectedStep[] => kinds.map((kind) => ({ kind }));

beforeEach(() => {
  sequence = 0;
});

describe('matchValue', () => {
  it('matches the named fields of an object and ignores the others', () => {
    expect(
      matchValue({ state: 'RUN_STATE_FAILED' }, { state: 'RUN_STATE_FAILED', reason: 'X' }),
    ).toBeUndefined();
    expect(matchValue({ reason: 'Y' }, { reason: 'X' })).toBe('reason: expected "Y", got "X"');
  });

  it('accepts short and lower-case enum names, but not partial words', () => {
    expect(matchValue({ state: 'FAILED' }, { state: 'RUN_STATE_FAILED' })).toBeUndefined();
    expect(matchValue({ state: 'failed' }, { state: 'JOB_STATE_FAILED' })).toBeUndefined();
    expect(matchValue({ state: 'AILED' }, { state: 'RUN_STATE_FAILED' })).toBeDefined();
    // Ordinary strings are compared exactly.
    expect(matchValue({ reason: 'failedindexes' }, { reason: 'FailedIndexes' })).toBeDefined();
  });

  it('takes snake_case keys for camelCase fields, and nested objects', () => {
    expect(
      matchValue(
        { result: { exit_code: 3, index: 1 } },
        { result: { exitCode: 3, index: 1, succeeded: false } },
      ),
    ).toBeUndefined();
    expect(matchValue({ result: { exit_code: 3 } }, { result: { exitCode: 1 } })).toBe(
      'result.exitCode: expected 3, got 1',
    );
  });

  it('treats an unset field as its default value', () => {
    expect(matchValue({ willRetry: false, counts: { failed: 0 } }, {})).toBeUndefined();
    expect(matchValue({ willRetry: true }, {})).toBe('willRetry: expected true, got (unset)');
  });

  it('compares 64-bit integers given as strings with numbers', () => {
    expect(matchValue({ objects: 5 }, { objects: '5' })).toBeUndefined();
    expect(matchValue({ objects: 6 }, { objects: '5' })).toBeDefined();
  });

  it('compares lists element by element and by length', () => {
    expect(matchValue({ items: ['a', 'b'] }, { items: ['a', 'b'] })).toBeUndefined();
    expect(matchValue({ items: ['a'] }, { items: ['a', 'b'] })).toMatch(
      /^items: expected 1 element/,
    );
    expect(matchValue({ items: ['a', 'c'] }, { items: ['a', 'b'] })).toBe(
      'items[1]: expected "c", got "b"',
    );
  });

  it('never matches a wrong type', () => {
    expect(matchValue({ counts: { total: 5 } }, { counts: 5 })).toMatch(/expected an object/);
    expect(matchValue({ succeeded: true }, { succeeded: 'true' })).toBeDefined();
  });
});

describe('SequenceMatcher', () => {
  it('matches the expected kinds as an ordered subsequence, ignoring extra events', () => {
    const m = new SequenceMatcher(steps('submitted', 'run_started', 'finished'));
    for (const kind of [
      'submitted',
      'admitted',
      'run_created',
      'run_started',
      'index_finished',
      'run_finished',
      'finished',
    ] as const) {
      m.push(seen(kind));
    }
    expect(m.complete).toBe(true);
    expect(m.matchedEvents.map((e) => e.kind)).toEqual(['submitted', 'run_started', 'finished']);
    expect(m.seen).toHaveLength(7);
  });

  it('is strict on order: a step seen before the previous one does not count', () => {
    const m = new SequenceMatcher(steps('run_started', 'admitted', 'finished'));
    for (const kind of ['submitted', 'admitted', 'run_started', 'finished'] as const)
      m.push(seen(kind));
    expect(m.complete).toBe(false);
    expect(m.next).toEqual({ kind: 'admitted' });
    expect(m.explain()).toEqual([
      'waiting for step 2/3: admitted',
      'out of order: admitted came at #2, before run_started (#3)',
    ]);
  });

  it('matches repeated kinds one event each (e.g. a retry)', () => {
    const m = new SequenceMatcher(
      steps('admitted', 'run_finished', 'admitted', 'run_finished', 'finished'),
    );
    for (const kind of ['admitted', 'run_finished', 'admitted', 'run_finished'] as const)
      m.push(seen(kind));
    expect(m.complete).toBe(false);
    m.push(seen('finished'));
    expect(m.complete).toBe(true);
  });

  it('requires the fields a step names and says why an event of that kind did not match', () => {
    const m = new SequenceMatcher([{ kind: 'run_finished', fields: { state: 'CANCELLED' } }]);
    m.push(seen('run_finished', { state: 'RUN_STATE_SUCCEEDED' }));
    expect(m.complete).toBe(false);
    expect(m.explain()[1]).toBe(
      '#1 run_finished(SUCCEEDED) did not match: state: expected "CANCELLED", got "RUN_STATE_SUCCEEDED"',
    );
    m.push(seen('run_finished', { state: 'RUN_STATE_CANCELLED' }));
    expect(m.complete).toBe(true);
    expect(m.explain()).toEqual([]);
  });

  it('can wait past finished only for events that follow a job’s end', () => {
    const archived = new SequenceMatcher(steps('finished', 'logs_archived'));
    archived.push(seen('finished'));
    expect(decide(archived, true)).toBe('wait');
    archived.push(seen('logs_archived'));
    expect(decide(archived, true)).toBe('stop');

    const missed = new SequenceMatcher(steps('run_started', 'finished'));
    missed.push(seen('finished'));
    expect(decide(missed, true)).toBe('stop');
    expect(missed.complete).toBe(false);
  });

  it('keeps watching a job that has not finished, even once every step matched', () => {
    const m = new SequenceMatcher(steps('submitted'));
    m.push(seen('submitted'));
    expect(m.complete).toBe(true);
    expect(decide(m, false)).toBe('wait');
    expect(decide(m, true)).toBe('stop');
  });
});

describe('event kinds', () => {
  it('takes the proto oneof names and their JSON names', () => {
    expect(parseEventKind('run_started')).toBe('run_started');
    expect(parseEventKind('runStarted')).toBe('run_started');
    expect(parseEventKind('finished')).toBe('finished');
    expect(parseEventKind('jobFinished')).toBeUndefined();
  });

  it('turns a JobEvent into its kind, state and proto3 JSON payload with defaults', () => {
    const event = JobEvent.fromPartial({
      jobId: 'j',
      sequence: 7,
      run: 1,
      state: JobState.JOB_STATE_RUNNING,
      runFinished: {
        state: RunState.RUN_STATE_FAILED,
        reason: 'FailedIndexes',
        counts: { total: 3, succeeded: 2, failed: 1 },
      },
    });
    const s = toSeenEvent(event, 1234);
    expect(s).toMatchObject({
      kind: 'run_finished',
      sequence: 7,
      run: 1,
      state: 'RUNNING',
      atMs: 1234,
    });
    expect(s?.payload).toMatchObject({
      state: 'RUN_STATE_FAILED',
      reason: 'FailedIndexes',
      willRetry: false,
      counts: { total: 3, active: 0 },
    });
    expect(describeEvent(s as SeenEvent)).toBe('run_finished(FAILED FailedIndexes)');
    expect(toSeenEvent(JobEvent.fromPartial({ jobId: 'j', sequence: 8 }), 0)).toBeUndefined();
  });
});
