import { ContentTypes, encodeMessage, JobRecord, JobState, RunState } from '@wharf/contracts';
import { reduce } from '../domain/job-reducer';
import { aQueue, aSpec } from '../domain/test-builders';
import { JobStore } from './job-store';
import { summarizeJobRecord } from './job-summary';

const at = new Date('2026-01-02T03:04:05.678Z');

function aRecord(jobId: string, overrides: Parameters<typeof aSpec>[0] = {}, state: JobState = JobState.JOB_STATE_QUEUED): JobRecord {
  const t = reduce(undefined, { kind: 'submit', jobId, tenant: 'acme', spec: aSpec(overrides), specHash: 'h' }, at);
  if (!t) throw new Error('no transition');
  return { ...t.record, state, ...(state === JobState.JOB_STATE_SUCCEEDED ? { finishedAt: new Date(at.getTime() + 5_000) } : {}) };
}

describe('summarizeJobRecord', () => {
  it('reads the indexed fields as the full decoder does', () => {
    const record = aRecord('j1', { queue: 'q7-ü', namespace: 'n'.repeat(40), priority: -3, parallelism: 4, resources: { cpu: '250m', memory: '1Gi', gpu: 2 }, items: ['a', 'b'], labels: { x: 'y' } }, JobState.JOB_STATE_SUCCEEDED);
    const summary = summarizeJobRecord(encodeMessage(JobRecord, record));
    expect(summary).toEqual({
      tenant: 'acme',
      state: JobState.JOB_STATE_SUCCEEDED,
      queue: 'q7-ü',
      namespace: 'n'.repeat(40),
      priority: -3,
      cpu: '250m',
      memory: '1Gi',
      gpu: 2,
      parallelism: 4,
      createdAtMs: at.getTime(),
      finishedOrUpdatedAtMs: at.getTime() + 5_000,
    });
  });

  it('rejects truncated bytes', () => {
    const bytes = encodeMessage(JobRecord, aRecord('j2'));
    expect(() => summarizeJobRecord(bytes.subarray(0, bytes.length - 3))).toThrow(RangeError);
  });

  it('falls back to updatedAt and to defaults for absent fields', () => {
    const summary = summarizeJobRecord(encodeMessage(JobRecord, JobRecord.fromPartial({ jobId: 'bare', updatedAt: at })));
    expect(summary).toMatchObject({ tenant: '', state: JobState.JOB_STATE_UNSPECIFIED, queue: '', priority: 0, parallelism: 0, createdAtMs: 0, finishedOrUpdatedAtMs: at.getTime() });
  });
});

describe('JobStore with restored (encoded) records', () => {
  const queue = aQueue({ name: 'batch' });
  const capacity = { cpu: 1_000, memory: 1e15, gpu: 100, maxRunning: 1_000 };

  it('indexes, reads and filters encoded records like decoded ones', () => {
    const records = [
      aRecord('a', { priority: 5, resources: { cpu: '1', memory: '', gpu: 0 } }),
      aRecord('b', { labels: { team: 'red' } }, JobState.JOB_STATE_RUNNING),
      aRecord('c', {}, JobState.JOB_STATE_SUCCEEDED),
    ];
    const decoded = new JobStore();
    const encoded = new JobStore();
    for (const r of records) {
      decoded.put(r);
      encoded.putEncoded(r.jobId, encodeMessage(JobRecord, r));
    }
    const view = (s: JobStore) => s.snapshot([queue], capacity, 10).queues.map((q) => ({ ...q, pending: [...q.pending.values()].map(({ seq: _seq, ...p }) => p) }));
    expect(view(encoded)).toEqual(view(decoded));
    expect(encoded.list({ tenant: 'acme', labels: { team: 'red' } }).map((r) => r.jobId)).toEqual(['b']);
    expect(encoded.list({ tenant: 'acme', states: [JobState.JOB_STATE_QUEUED] }).map((r) => r.jobId)).toEqual(['a']);
    expect(encoded.list({ tenant: 'globex' })).toEqual([]);
    expect(encoded.expired(new Date(at.getTime() + 10_000), 1_000, 10)).toEqual(['c']);
    expect(encoded.get('a')).toEqual(records[0]);
    expect([...encoded.values()]).toEqual(records);
    expect(encoded.has('b')).toBe(true);
    expect(encoded.size).toBe(3);
  });

  it('replaces and removes encoded records, keeping the indexes right', () => {
    const store = new JobStore();
    const queued = aRecord('a');
    store.putEncoded('a', encodeMessage(JobRecord, queued));
    store.putEncoded('a', encodeMessage(JobRecord, { ...queued, state: JobState.JOB_STATE_ADMITTED }));
    let snapshot = store.queueSnapshot(queue);
    expect(snapshot.pending.size).toBe(0);
    expect(snapshot.running).toBe(1);
    store.remove('a');
    snapshot = store.queueSnapshot(queue);
    expect(snapshot.running).toBe(0);
    expect(store.get('a')).toBeUndefined();
  });

  it('decodes JSON records at once', () => {
    const store = new JobStore();
    const record = aRecord('j');
    store.putEncoded('j', encodeMessage(JobRecord, record, ContentTypes.json), ContentTypes.json);
    expect(store.get('j')).toEqual(record);
    expect([...store.queueSnapshot(queue).pending.values()].map((p) => p.jobId)).toEqual(['j']);
  });
});

describe('JobStore keeps every job encoded', () => {
  const rich = (): JobRecord => ({
    ...aRecord('rich', { labels: { team: 'red' }, env: { A: '1' }, items: ['x', 'y'], inputs: { n: 3, nested: { ok: true, list: ['a'] } }, priority: 2 }, JobState.JOB_STATE_ADMITTED),
    runs: [
      {
        number: 1,
        state: RunState.RUN_STATE_FAILED,
        jobName: 'rich-1',
        launchedAt: at,
        startedAt: new Date(at.getTime() + 1),
        finishedAt: new Date(at.getTime() + 2),
        indexes: { total: 2, succeeded: 1, failed: 1, active: 0 },
        results: [{ index: 1, succeeded: false, exitCode: 3, reason: 'Error', outputJson: '' }],
        reason: 'FailedIndexes',
        message: 'index 1 failed',
        logsManifest: '',
        logsLost: false,
      },
    ],
    sequence: 7,
    notBefore: new Date(at.getTime() + 60_000),
  });

  it('reads back what was put, as a copy of its own', () => {
    const store = new JobStore();
    const record = rich();
    store.put(record);
    const first = store.get('rich') as JobRecord;
    expect(first).toEqual(record);
    expect(first).not.toBe(record);
    first.state = JobState.JOB_STATE_FAILED;
    (first.spec as NonNullable<JobRecord['spec']>).labels.team = 'blue';
    record.sequence = 99;
    expect(store.get('rich')).toEqual(rich());
    expect(store.list({ labels: { team: 'red' } }).map((r) => r.jobId)).toEqual(['rich']);
  });

  it('indexes a put job from the record, as a restored one from its bytes', () => {
    const put = new JobStore();
    const restored = new JobStore();
    put.put(rich());
    restored.putEncoded('rich', encodeMessage(JobRecord, rich()));
    const queue = aQueue({ name: 'batch' });
    expect(put.queueSnapshot(queue)).toEqual(restored.queueSnapshot(queue));
    expect(put.queueSnapshot(queue).running).toBe(1);
    for (const store of [put, restored]) {
      expect(store.dueRelaunches(new Date(at.getTime() + 59_000))).toEqual([]);
      expect(store.dueRelaunches(new Date(at.getTime() + 60_000))).toEqual(['rich']);
    }
    // Relaunched: its new run has not ended, so it is not due again.
    const relaunched = rich();
    relaunched.runs.push({ ...(relaunched.runs[0] as JobRecord['runs'][number]), number: 2, state: RunState.RUN_STATE_PENDING });
    put.put(relaunched);
    expect(put.dueRelaunches(new Date(at.getTime() + 60_000))).toEqual([]);
    put.put({ ...relaunched, state: JobState.JOB_STATE_QUEUED });
    expect(put.queueSnapshot(queue).running).toBe(0);
    put.put(rich());
    expect(put.dueRelaunches(new Date(at.getTime() + 60_000))).toEqual(['rich']);
  });
});
