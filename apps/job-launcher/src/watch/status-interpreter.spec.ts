import type { KubeJob, KubePod } from '../kube/kube-objects';
import { renderRun } from '../launch/job-renderer';
import { seed000 } from '../../test/launch-fixtures';
import { interpretJob, parseIndexes, runOf } from './status-interpreter';

const now = new Date('2030-01-01T00:00:00Z');

function job(status: KubeJob['status'], extra: Partial<KubeJob['metadata']> = {}): KubeJob {
  const rendered = renderRun(seed000('rev-1')).job;
  return { ...rendered, metadata: { ...rendered.metadata, uid: 'u1', ...extra }, status };
}

function pod(index: number, phase: string, exitCode?: number, failures = 0, reason = 'Error'): KubePod {
  return {
    metadata: {
      name: `p-${index}-${failures}`,
      namespace: 'default',
      annotations: {
        'batch.kubernetes.io/job-completion-index': String(index),
        'batch.kubernetes.io/job-index-failure-count': String(failures),
      },
    },
    status: {
      phase,
      containerStatuses:
        exitCode === undefined
          ? phase === 'Running'
            ? [{ name: 'main', state: { running: {} } }]
            : []
          : [{ name: 'main', state: { terminated: { exitCode, reason } } }],
    },
  };
}

const keys = (job: KubeJob, pods: KubePod[] = []) => interpretJob(job, pods, now).map((o) => o.key);

describe('parseIndexes', () => {
  it('reads interval lists', () => {
    expect(parseIndexes('1,3-5,7')).toEqual([1, 3, 4, 5, 7]);
    expect(parseIndexes('')).toEqual([]);
    expect(parseIndexes(undefined)).toEqual([]);
    expect(parseIndexes('0-9', 3)).toEqual([0, 1, 2]);
  });
});

describe('interpretJob', () => {
  it('ignores objects that are not ours', () => {
    expect(interpretJob({ metadata: { name: 'x', labels: {} } }, [], now)).toEqual([]);
    expect(runOf({ metadata: { labels: { 'app.kubernetes.io/managed-by': 'wharf', 'wharf.dev/job-id': 'a', 'wharf.dev/run': '2' } } })).toEqual({
      jobId: 'a',
      run: 2,
    });
  });

  it('reports a created Job, then started once a pod runs', () => {
    expect(keys(job({}))).toEqual(['rev-1/1/created']);
    expect(keys(job({ active: 1 }), [pod(0, 'Pending')])).toEqual(['rev-1/1/created']);
    expect(keys(job({ active: 1 }), [pod(0, 'Running')])).toEqual(['rev-1/1/created', 'rev-1/1/started']);
    const [created] = interpretJob(job({}), [], now);
    expect(created?.observation).toEqual({
      jobId: 'rev-1',
      run: 1,
      observedAt: now,
      source: 'job-launcher',
      created: { namespace: 'default', jobName: job({}).metadata.name },
    });
  });

  it('reports succeeded indexes and a complete run', () => {
    const done = job({
      succeeded: 5,
      completedIndexes: '0-4',
      conditions: [{ type: 'Complete', status: 'True' }],
    });
    const obs = interpretJob(done, [], now);
    expect(obs.map((o) => o.key)).toEqual([
      'rev-1/1/created',
      'rev-1/1/started',
      'rev-1/1/index/0',
      'rev-1/1/index/1',
      'rev-1/1/index/2',
      'rev-1/1/index/3',
      'rev-1/1/index/4',
      'rev-1/1/finished',
    ]);
    expect(obs[2]?.observation.index?.result).toEqual({ index: 0, succeeded: true, exitCode: 0, reason: 'Completed', outputJson: '' });
    expect(obs[7]?.observation.finished).toEqual({
      succeeded: true,
      reason: 'Complete',
      message: '',
      counts: { total: 5, succeeded: 5, failed: 0, active: 0 },
      failedIndexes: [],
    });
  });

  it('reports a failed index with the exit code of its last attempt (FailedIndexes)', () => {
    const failed = job({
      succeeded: 4,
      completedIndexes: '0,1,3,4',
      failedIndexes: '2',
      conditions: [{ type: 'Failed', status: 'True', reason: 'FailedIndexes', message: 'Job has failed indexes' }],
    });
    const pods = [pod(2, 'Failed', 1, 0), pod(2, 'Failed', 3, 1, 'Error'), pod(0, 'Succeeded', 0)];
    const obs = interpretJob(failed, pods, now);
    const index2 = obs.find((o) => o.key === 'rev-1/1/index/2');
    expect(index2?.observation.index?.result).toEqual({ index: 2, succeeded: false, exitCode: 3, reason: 'Error', outputJson: '' });
    expect(obs.at(-1)?.observation.finished).toEqual({
      succeeded: false,
      reason: 'FailedIndexes',
      message: 'Job has failed indexes',
      counts: { total: 5, succeeded: 4, failed: 1, active: 0 },
      failedIndexes: [2],
    });
  });

  it.each(['BackoffLimitExceeded', 'DeadlineExceeded', 'PodFailurePolicy'])('reports a run failed with %s', (reason) => {
    const obs = interpretJob(job({ failed: 1, conditions: [{ type: 'Failed', status: 'True', reason }] }), [pod(0, 'Failed', 42)], now);
    expect(obs.at(-1)?.key).toBe('rev-1/1/finished');
    expect(obs.at(-1)?.observation.finished?.reason).toBe(reason);
    expect(obs.at(-1)?.observation.finished?.succeeded).toBe(false);
    expect(obs.map((o) => o.key)).toContain('rev-1/1/started');
    // The index whose pod failed is reported with its exit code even outside failedIndexes.
    expect(obs.find((o) => o.key === 'rev-1/1/index/0')?.observation.index?.result).toMatchObject({ succeeded: false, exitCode: 42 });
  });

  it('reports an unfinished Job being deleted as cancelled, and a finished one as finished only', () => {
    const deleting = job({ active: 2 }, { deletionTimestamp: '2030-01-01T00:00:00Z' });
    expect(keys(deleting).at(-1)).toBe('rev-1/1/cancelled');
    const finishedThenDeleted = job({ conditions: [{ type: 'Complete', status: 'True' }] }, { deletionTimestamp: '2030-01-01T00:00:00Z' });
    expect(keys(finishedThenDeleted)).not.toContain('rev-1/1/cancelled');
  });

  it('reports the reason a cancel wrote on the Job, so the watcher and the cancel handler state the same fact', () => {
    const plain = job({ active: 1 }, { deletionTimestamp: '2030-01-01T00:00:00Z' });
    expect(interpretJob(plain, [], now).at(-1)?.observation.cancelled).toEqual({ reason: 'JobDeleted' });
    const cancelled = job({ active: 1 }, { deletionTimestamp: '2030-01-01T00:00:00Z' });
    cancelled.metadata.annotations = { ...cancelled.metadata.annotations, 'wharf.dev/cancel-reason': 'user asked' };
    expect(interpretJob(cancelled, [], now).at(-1)?.observation.cancelled).toEqual({ reason: 'user asked' });
  });

  it('is level-triggered: the same state gives the same facts', () => {
    const state = job({ completedIndexes: '0-1', active: 3 });
    expect(interpretJob(state, [], now)).toEqual(interpretJob(state, [], now));
  });
});
