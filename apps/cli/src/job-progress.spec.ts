import { JobEvent, JobState } from '@wharf/contracts';
import { applyJobEvent, initialProgress } from './job-progress';

const ev = (sequence: number, fields: Partial<JobEvent>) =>
  JobEvent.fromPartial({ jobId: 'j', sequence, run: 1, ...fields });

describe('applyJobEvent', () => {
  it('folds counts and the final state, ignoring replays', () => {
    let p = initialProgress('j');
    p = applyJobEvent(
      p,
      ev(1, {
        state: JobState.JOB_STATE_QUEUED,
        submitted: { spec: { items: ['a', 'b', 'c'] } as never },
      }),
    );
    expect(p.counts.total).toBe(3);
    p = applyJobEvent(
      p,
      ev(2, {
        state: JobState.JOB_STATE_RUNNING,
        indexFinished: { counts: { total: 3, succeeded: 1, failed: 0, active: 2 } },
      }),
    );
    const replay = applyJobEvent(p, ev(2, { state: JobState.JOB_STATE_FAILED }));
    expect(replay).toBe(p);
    p = applyJobEvent(
      p,
      ev(3, {
        state: JobState.JOB_STATE_SUCCEEDED,
        finished: { state: JobState.JOB_STATE_SUCCEEDED, reason: '', message: '' },
      }),
    );
    expect(p).toMatchObject({
      state: 'SUCCEEDED',
      finished: true,
      lastSequence: 3,
      counts: { succeeded: 1, total: 3 },
    });
  });
});
