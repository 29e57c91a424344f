import { ExitCodeRule_Action, JobState, RunState, type JobRecord, type Observation } from '@wharf/contracts';
import { canonicalJson, deriveJobId, isValidJobId, kubeJobName, specHash } from './job-identity';
import { reduce, SpecConflict, type JobInput, type Transition } from './job-reducer';
import { parseCpu, parseMemory } from './quantity';
import { validateSubmit } from './spec-validator';
import { aQueue, aSpec } from './test-builders';

const t0 = new Date('2025-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

describe('quantities', () => {
  it('parses cpu and memory', () => {
    expect(parseCpu('500m')).toBe(0.5);
    expect(parseCpu('2')).toBe(2);
    expect(parseCpu('')).toBe(0);
    expect(parseMemory('1Gi')).toBe(2 ** 30);
    expect(parseMemory('1G')).toBe(1e9);
    expect(parseCpu('lots')).toBeUndefined();
  });
});

describe('job identity', () => {
  it('derives a DNS-safe id from name and spec hash, stable across key order', () => {
    const a = aSpec({ name: 'My Job_№1', labels: { a: '1', b: '2' } });
    const b = aSpec({ name: 'My Job_№1', labels: { b: '2', a: '1' } });
    expect(specHash(a)).toBe(specHash(b));
    const id = deriveJobId(a.name, specHash(a));
    expect(id).toMatch(/^my-job-1-[0-9a-f]{16}$/);
    expect(isValidJobId(id)).toBe(true);
    expect(deriveJobId('x'.repeat(100), specHash(a)).length).toBeLessThanOrEqual(63);
  });
  it('changes the hash when the spec changes', () => {
    expect(specHash(aSpec())).not.toBe(specHash(aSpec({ image: 'busybox:1.37' })));
  });
  it('names the Kubernetes Job per run, within 63 characters', () => {
    const name = kubeJobName('a'.repeat(63), 12);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^w-a{44}-r12-[0-9a-f]{8}$/);
    expect(kubeJobName('j', 1)).not.toBe(kubeJobName('j', 2));
    // A job id whose 44th character is "-" keeps it: still a DNS label, and job-launcher's name.
    expect(kubeJobName(`${'a'.repeat(43)}-b`, 1)).toMatch(/^w-a{43}--r1-[0-9a-f]{8}$/);
  });
  it('serialises canonically', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: 0 }], a: 'x' })).toBe('{"a":"x","b":[2,{"c":0,"d":1}]}');
  });
});

describe('validateSubmit', () => {
  it('accepts seed 000 (five items, parallelism 3) and fills defaults', () => {
    const result = validateSubmit(
      { spec: aSpec({ items: ['foo', 'bar', 'baz', 'qux', 'xyz'], parallelism: 3, resources: { cpu: '500m', memory: '64Mi', gpu: 0 } }), idempotencyKey: '' },
      aQueue({ defaultActiveDeadlineSeconds: 600 }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.violations));
    expect(result.value.spec.activeDeadlineSeconds).toBe(600);
    expect(result.value.spec.retry?.maxAttempts).toBe(1);
    expect(result.value.demand).toEqual({ cpu: 1.5, memory: 3 * 64 * 2 ** 20, gpu: 0 });
    expect(result.value.jobId).toMatch(/^hello-[0-9a-f]{16}$/);
  });

  it('lists every problem with its field path', () => {
    const result = validateSubmit(
      {
        idempotencyKey: 'Not_A_Label',
        spec: aSpec({
          image: '',
          namespace: 'team-b',
          items: ['ok', 'x'.repeat(70_000)],
          env: { WHARF_X: '1', 'bad-name': '2' },
          secrets: [{ env: 'TOKEN', value: 's3cr3t', secretRef: { name: 'a', key: 'b' } }],
          resources: { cpu: 'lots', memory: '1Gi', gpu: 0 },
          activeDeadlineSeconds: 999_999,
          retry: { backoffLimitPerIndex: 0, maxAttempts: 1, backoffSeconds: 0, exitCodeRules: [{ action: ExitCodeRule_Action.ACTION_UNSPECIFIED, exitCodes: [0] }] },
          labels: { 'wharf.dev/job-id': 'x' },
          annotations: { 'wharf.dev/sim-exit-code': '1', 'kubernetes.io/x': 'y' },
        }),
      },
      aQueue(),
    );
    expect(result.ok).toBe(false);
    const fields = result.ok ? [] : result.violations.map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'idempotency_key',
        'spec.image',
        'spec.namespace',
        'spec.items[1]',
        'spec.env[WHARF_X]',
        'spec.env[bad-name]',
        'spec.secrets[0]',
        'spec.resources.cpu',
        'spec.active_deadline_seconds',
        'spec.retry.exit_code_rules[0].action',
        'spec.retry.exit_code_rules[0].exit_codes[0]',
        'spec.labels[wharf.dev/job-id]',
        'spec.annotations[kubernetes.io/x]',
      ]),
    );
    expect(fields).not.toContain('spec.annotations[wharf.dev/sim-exit-code]');
    // Secret values never appear in messages.
    expect(JSON.stringify(result)).not.toContain('s3cr3t');
  });

  it('rejects an unknown queue, too many items and a job bigger than its queue quota', () => {
    expect(validateSubmit({ spec: aSpec({ queue: 'nope' }), idempotencyKey: '' }, undefined)).toMatchObject({
      ok: false,
      violations: [{ field: 'spec.queue', description: "no queue named 'nope'" }],
    });
    const many = validateSubmit({ spec: aSpec({ items: Array.from({ length: 10_001 }, () => 'x') }), idempotencyKey: '' }, aQueue());
    expect(many).toMatchObject({ ok: false, violations: [{ field: 'spec.items' }] });
    const big = validateSubmit(
      { spec: aSpec({ resources: { cpu: '4', memory: '', gpu: 0 }, parallelism: 3 }), idempotencyKey: '' },
      aQueue({ quota: { cpu: 8 } }),
    );
    expect(big).toMatchObject({ ok: false, violations: [{ field: 'spec.resources.cpu' }] });
  });

  it('rejects numbers that are not integers (NaN from JSON)', () => {
    const result = validateSubmit({ spec: aSpec({ parallelism: Number.NaN, priority: 1.5 }), idempotencyKey: '' }, aQueue());
    expect(result.ok ? [] : result.violations.map((v) => v.field)).toEqual(expect.arrayContaining(['spec.parallelism', 'spec.priority']));
  });

  it('uses the idempotency key as the job id', () => {
    const result = validateSubmit({ spec: aSpec(), idempotencyKey: 'order-42' }, aQueue());
    expect(result.ok && result.value.jobId).toBe('order-42');
  });
});

function submitted(): JobRecord {
  const input: JobInput = { kind: 'submit', jobId: 'j1', tenant: 'acme', spec: aSpec({ items: ['a', 'b'], retry: { maxAttempts: 2, backoffSeconds: 5, backoffLimitPerIndex: 0, exitCodeRules: [] } }), specHash: 'h1' };
  return reduce(undefined, input, t0)?.record as JobRecord;
}

const obs = (run: number, o: Partial<Observation>): JobInput => ({
  kind: 'observe',
  observation: { jobId: 'j1', run, observedAt: undefined, source: 'job-launcher', ...o },
});

describe('job reducer', () => {
  it('walks submit → admit → created → started → indexes → succeeded with ordered events', () => {
    let record = submitted();
    expect(record.state).toBe(JobState.JOB_STATE_QUEUED);
    expect(record.sequence).toBe(1);
    const admit = reduce(record, { kind: 'admit' }, at(1)) as Transition;
    record = admit.record;
    expect(record.state).toBe(JobState.JOB_STATE_ADMITTED);
    expect(admit.commands[0]?.launch).toMatchObject({ jobId: 'j1', run: 1, specHash: 'h1' });
    expect(record.runs[0]?.jobName).toBe(kubeJobName('j1', 1));
    const steps: JobInput[] = [
      obs(1, { created: { namespace: 'team-a', jobName: kubeJobName('j1', 1) } }),
      obs(1, { started: {} }),
      obs(1, { index: { result: { index: 0, succeeded: true, exitCode: 0, reason: '', outputJson: '' } } }),
      obs(1, { index: { result: { index: 1, succeeded: true, exitCode: 0, reason: '', outputJson: '' } } }),
      obs(1, { finished: { succeeded: true, reason: 'Completed', message: '', counts: { total: 2, succeeded: 2, failed: 0, active: 0 }, failedIndexes: [] } }),
    ];
    const sequences: number[] = [];
    for (const [i, step] of steps.entries()) {
      const t = reduce(record, step, at(2 + i)) as Transition;
      record = t.record;
      sequences.push(...t.events.map((e) => e.sequence));
    }
    expect(record.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(record.runs[0]?.state).toBe(RunState.RUN_STATE_SUCCEEDED);
    expect(record.runs[0]?.indexes).toMatchObject({ succeeded: 2 });
    expect(sequences).toEqual([3, 4, 5, 6, 7, 8]);
    expect(record.sequence).toBe(8);
  });

  it('ignores duplicated and reordered observations', () => {
    let record = reduce(submitted(), { kind: 'admit' }, at(1))?.record as JobRecord;
    const finished = obs(1, { finished: { succeeded: false, reason: 'BackoffLimitExceeded', message: 'index 1 failed', counts: undefined, failedIndexes: [1] } });
    record = reduce(record, finished, at(2))?.record as JobRecord;
    expect(record.state).toBe(JobState.JOB_STATE_FAILED);
    for (const late of [obs(1, { started: {} }), obs(1, { created: { namespace: 'n', jobName: 'x' } }), finished, obs(7, { started: {} })]) {
      const t = reduce(record, late, at(3)) as Transition;
      expect(t.changed).toBe(false);
      expect(t.record).toBe(record);
    }
    const started = reduce(reduce(submitted(), { kind: 'admit' }, at(1))?.record as JobRecord, obs(1, { started: {} }), at(2))?.record as JobRecord;
    expect(reduce(started, obs(1, { started: {} }), at(3))?.changed).toBe(false);
    expect(reduce(started, obs(1, { created: { namespace: 'n', jobName: 'x' } }), at(3))?.changed).toBe(false);
  });

  it('retries an infrastructure failure as a new run after backoff, then fails for good', () => {
    let record = reduce(submitted(), { kind: 'admit' }, at(0))?.record as JobRecord;
    const lost = reduce(record, obs(1, { finished: { succeeded: false, reason: 'JobLost', message: '', counts: undefined, failedIndexes: [] } }), at(10)) as Transition;
    record = lost.record;
    expect(record.state).toBe(JobState.JOB_STATE_ADMITTED);
    expect(lost.events[0]?.runFinished?.willRetry).toBe(true);
    expect(record.notBefore).toEqual(at(15));
    expect(reduce(record, { kind: 'relaunch' }, at(14))?.changed).toBe(false);
    const relaunch = reduce(record, { kind: 'relaunch' }, at(15)) as Transition;
    expect(relaunch.commands[0]?.launch?.run).toBe(2);
    record = relaunch.record;
    record = reduce(record, obs(2, { rejected: { reason: 'Unavailable', violations: [] } }), at(20))?.record as JobRecord;
    expect(record.state).toBe(JobState.JOB_STATE_FAILED);
    expect(record.runs[1]?.state).toBe(RunState.RUN_STATE_REJECTED);
  });

  it('fails at once for user failures', () => {
    const record = reduce(submitted(), { kind: 'admit' }, at(0))?.record as JobRecord;
    const t = reduce(record, obs(1, { finished: { succeeded: false, reason: 'DeadlineExceeded', message: '', counts: undefined, failedIndexes: [] } }), at(1)) as Transition;
    expect(t.record.state).toBe(JobState.JOB_STATE_FAILED);
    expect(t.record.reason).toBe('DeadlineExceeded');
  });

  it('cancels a queued job at once and a running one after the launcher confirms', () => {
    const queued = reduce(submitted(), { kind: 'cancel', reason: 'no longer needed' }, at(1)) as Transition;
    expect(queued.record.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(queued.commands).toHaveLength(0);
    let running = reduce(reduce(submitted(), { kind: 'admit' }, at(0))?.record as JobRecord, obs(1, { started: {} }), at(1))?.record as JobRecord;
    const cancel = reduce(running, { kind: 'cancel', reason: '' }, at(2)) as Transition;
    expect(cancel.record.state).toBe(JobState.JOB_STATE_RUNNING);
    expect(cancel.record.cancelRequested).toBe(true);
    expect(cancel.commands[0]?.cancel).toMatchObject({ jobId: 'j1', run: 1 });
    expect(reduce(cancel.record, { kind: 'cancel', reason: '' }, at(3))?.changed).toBe(false);
    running = reduce(cancel.record, obs(1, { cancelled: { reason: 'deleted' } }), at(4))?.record as JobRecord;
    expect(running.state).toBe(JobState.JOB_STATE_CANCELLED);
    // A late cancel on a finished job changes nothing.
    expect(reduce(running, { kind: 'cancel', reason: '' }, at(5))?.changed).toBe(false);
  });

  it('is idempotent for the same spec and rejects a reused key with another spec', () => {
    const record = submitted();
    const again = reduce(record, { kind: 'submit', jobId: 'j1', tenant: 'acme', spec: aSpec(), specHash: 'h1' }, at(1)) as Transition;
    expect(again.changed).toBe(false);
    expect(() => reduce(record, { kind: 'submit', jobId: 'j1', tenant: 'acme', spec: aSpec(), specHash: 'h2' }, at(1))).toThrow(SpecConflict);
  });

  it('records archived logs once, even after the job ended', () => {
    let record = reduce(submitted(), { kind: 'admit' }, at(0))?.record as JobRecord;
    record = reduce(record, obs(1, { finished: { succeeded: true, reason: '', message: '', counts: undefined, failedIndexes: [] } }), at(1))?.record as JobRecord;
    const archived = obs(1, { logsArchived: { manifest: 's3://b/m.json', objects: 2, bytes: 10, missing: 0 } });
    const t = reduce(record, archived, at(2)) as Transition;
    expect(t.events[0]?.logsArchived?.manifest).toBe('s3://b/m.json');
    expect(reduce(t.record, archived, at(3))?.changed).toBe(false);
  });

  it('never puts inline secret values in events', () => {
    const t = reduce(undefined, { kind: 'submit', jobId: 'j', tenant: 't', spec: aSpec({ secrets: [{ env: 'TOKEN', value: 'canary-123' }] }), specHash: 'h' }, t0) as Transition;
    expect(JSON.stringify(t.events)).not.toContain('canary-123');
    expect(t.record.spec?.secrets[0]?.value).toBe('canary-123');
  });
});
