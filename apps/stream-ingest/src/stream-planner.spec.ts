import { definitionOf } from '../test/stream-fixtures';
import { StreamDesiredState } from '@wharf/contracts';
import { planStreams, type ActualStream, type DesiredStream } from './stream-planner';

const valid = (id: string, generation = 1, paused = false): DesiredStream => ({
  kind: 'valid',
  definition: definitionOf({
    streamId: id,
    generation,
    desiredState: paused ? StreamDesiredState.STREAM_DESIRED_STATE_PAUSED : StreamDesiredState.STREAM_DESIRED_STATE_RUNNING,
  }),
});
const options = { now: 100_000, retryFailedAfterMs: 10_000 };

function plan(desired: [string, DesiredStream][], actual: [string, ActualStream][], now = options.now) {
  return planStreams(new Map(desired), new Map(actual), { ...options, now }).map((a) =>
    'definition' in a ? `${a.type} ${a.definition.id}@${a.definition.generation}` : `${a.type} ${a.id}`,
  );
}

describe('planStreams', () => {
  it('starts new streams and removes ones no longer desired (deleted or moved away)', () => {
    expect(plan([['a', valid('a')]], [['gone', { generation: 3, state: 'running' }]])).toEqual(['remove gone', 'start a@1']);
  });

  it('restarts a stream whose generation changed (an update)', () => {
    expect(plan([['a', valid('a', 2)]], [['a', { generation: 1, state: 'running' }]])).toEqual(['restart a@2']);
  });

  it('pauses and resumes', () => {
    expect(plan([['a', valid('a', 2, true)]], [['a', { generation: 1, state: 'running' }]])).toEqual(['pause a@2']);
    expect(plan([['a', valid('a', 3)]], [['a', { generation: 3, state: 'paused' }]])).toEqual(['start a@3']);
  });

  it('marks an invalid spec failed once, and does nothing on a second pass', () => {
    const invalid: DesiredStream = { kind: 'invalid', id: 'bad', generation: 4, error: 'sink.topic: required' };
    expect(plan([['bad', invalid]], [])).toEqual(['fail bad']);
    expect(plan([['bad', invalid]], [['bad', { generation: 4, state: 'failed', failedAt: 1 }]])).toEqual([]);
  });

  it('retries a failed start after the delay only', () => {
    const failed: [string, ActualStream] = ['a', { generation: 1, state: 'failed', failedAt: 95_000 }];
    expect(plan([['a', valid('a')]], [failed])).toEqual([]);
    expect(plan([['a', valid('a')]], [failed], 105_000)).toEqual(['restart a@1']);
  });

  it('is idempotent on a converged snapshot', () => {
    expect(plan([['a', valid('a', 5)], ['p', valid('p', 2, true)]], [['a', { generation: 5, state: 'running' }], ['p', { generation: 2, state: 'paused' }]])).toEqual([]);
  });
});
