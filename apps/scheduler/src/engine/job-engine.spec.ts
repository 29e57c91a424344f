import { JobState, type Observation } from '@wharf/contracts';
import { createLogger, InvalidArgumentError, NotLeaderError, SecretSealer, UnavailableError } from '@wharf/platform';
import { aQueue, aSpec } from '../domain/test-builders';
import { EventHub } from '../state/event-hub';
import { JobStore } from '../state/job-store';
import { MemoryKafka, MemoryStateLog } from '../state/memory-state-log';
import { defaultSpecLimits } from '../domain/spec-validator';
import { JobEngine } from './job-engine';

const logger = createLogger({ service: 'test', level: 'silent' });

function engine(cluster = new MemoryKafka(), overrides: { now?: () => Date; onFenced?: () => void; sealer?: SecretSealer } = {}) {
  const store = new JobStore();
  const hub = new EventHub();
  const e = new JobEngine({
    store,
    hub,
    log: new MemoryStateLog(cluster),
    logger,
    now: overrides.now ?? (() => new Date('2025-01-01T00:00:00Z')),
    queues: [aQueue({ name: 'batch', quota: { cpu: 2 } })],
    capacity: { cpu: Infinity, memory: Infinity, gpu: Infinity, maxRunning: Infinity },
    specLimits: defaultSpecLimits,
    retentionMs: 60_000,
    onFenced: overrides.onFenced,
    sealer: overrides.sealer,
  });
  return { e, store, hub, cluster };
}

const spec = (name = 'hello') => aSpec({ name, queue: 'batch', resources: { cpu: '1', memory: '', gpu: 0 } });

describe('JobEngine', () => {
  it('stores a submit durably before answering, and is idempotent', async () => {
    const { e, cluster } = engine();
    await e.activate();
    const [a, b] = await Promise.all([e.submit('acme', { spec: spec(), idempotencyKey: '' }), e.submit('acme', { spec: spec(), idempotencyKey: '' })]);
    expect(a.record.jobId).toBe(b.record.jobId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(cluster.records.get(a.record.jobId)?.state).toBe(JobState.JOB_STATE_QUEUED);
    expect(cluster.events.filter((x) => x.event.submitted)).toHaveLength(1);
    await expect(e.submit('acme', { spec: aSpec({ name: 'other', queue: 'batch' }), idempotencyKey: a.record.jobId })).rejects.toThrow(
      /already exists with a different spec/,
    );
    await expect(e.submit('acme', { spec: aSpec({ image: '' }), idempotencyKey: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('seals inline secret values before storing and launching, and stays idempotent', async () => {
    const canary = 'canary-93c1-state';
    const sealer = SecretSealer.fromKey(Buffer.alloc(32, 5));
    const { e, cluster } = engine(new MemoryKafka(), { sealer });
    await e.activate();
    const secretSpec = { ...spec('with-secret'), secrets: [{ env: 'TOKEN', value: canary }, { env: 'REF', secretRef: { name: 'creds', key: 'k' } }] };
    const first = await e.submit('acme', { spec: secretSpec, idempotencyKey: '' });
    const again = await e.submit('acme', { spec: secretSpec, idempotencyKey: '' });
    expect(again).toMatchObject({ created: false, record: { jobId: first.record.jobId } });
    await e.admissionCycle();
    const stored = cluster.records.get(first.record.jobId);
    const launched = cluster.commands.find((c) => c.command.launch)?.command.launch;
    for (const spec of [stored?.spec, launched?.spec]) {
      expect(sealer.open('TOKEN', spec?.secrets[0]?.value ?? '')).toBe(canary);
      expect(spec?.secrets[1]).toEqual({ env: 'REF', secretRef: { name: 'creds', key: 'k' } });
    }
    expect(JSON.stringify([...cluster.records.values(), cluster.commands, cluster.events])).not.toContain(canary);
  });

  it('admits within quota, launches, and follows observations to SUCCEEDED', async () => {
    const { e, store, cluster } = engine();
    await e.activate();
    const ids = [];
    for (const name of ['a', 'b', 'c']) ids.push((await e.submit('acme', { spec: spec(name), idempotencyKey: '' })).record.jobId);
    expect(await e.admissionCycle()).toBe(2); // quota 2 CPU, 1 CPU each
    expect(cluster.commands.filter((c) => c.command.launch)).toHaveLength(2);
    const first = ids[0] as string;
    const o = (x: Partial<Observation>): Observation => ({ jobId: first, run: 1, observedAt: undefined, source: 'job-launcher', ...x });
    await e.observe(o({ started: {} }));
    await e.observe(o({ finished: { succeeded: true, reason: '', message: '', counts: undefined, failedIndexes: [] } }));
    await e.observe(o({ finished: { succeeded: true, reason: '', message: '', counts: undefined, failedIndexes: [] } }));
    expect(store.get(first)?.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(await e.admissionCycle()).toBe(1);
    expect(store.get(ids[2] as string)?.state).toBe(JobState.JOB_STATE_ADMITTED);
  });

  it('restores from the log and a fenced writer cannot write', async () => {
    const onFenced = jest.fn();
    const old = engine(new MemoryKafka(), { onFenced });
    await old.e.activate();
    const { record } = await old.e.submit('acme', { spec: spec(), idempotencyKey: '' });
    const next = engine(old.cluster);
    await next.e.activate();
    expect(next.store.get(record.jobId)?.state).toBe(JobState.JOB_STATE_QUEUED);
    expect(next.hub.history(record.jobId, 0).events).toHaveLength(1);
    await expect(old.e.submit('acme', { spec: spec('x'), idempotencyKey: '' })).rejects.toBeInstanceOf(NotLeaderError);
    expect(onFenced).toHaveBeenCalledTimes(1);
    expect(old.e.isActive()).toBe(false);
    const again = await next.e.submit('acme', { spec: spec(), idempotencyKey: '' });
    expect(again.created).toBe(false);
  });

  it('answers UNAVAILABLE and changes nothing when the commit fails', async () => {
    const { e, store, cluster } = engine();
    await e.activate();
    cluster.failWith = new InvalidArgumentError('record too large');
    await expect(e.submit('acme', { spec: spec(), idempotencyKey: '' })).rejects.toBeInstanceOf(UnavailableError);
    expect(store.size).toBe(0);
    cluster.failWith = undefined;
    await expect(e.submit('acme', { spec: spec(), idempotencyKey: '' })).resolves.toMatchObject({ created: true });
  });

  it('removes finished jobs after their retention', async () => {
    let now = new Date('2025-01-01T00:00:00Z');
    const { e, store, cluster } = engine(new MemoryKafka(), { now: () => now });
    await e.activate();
    const { record } = await e.submit('acme', { spec: spec(), idempotencyKey: '' });
    await e.cancel(record.jobId, 'bye');
    expect(await e.expire()).toBe(0);
    now = new Date(now.getTime() + 61_000);
    expect(await e.expire()).toBe(1);
    expect(store.get(record.jobId)).toBeUndefined();
    expect(cluster.records.get(record.jobId)).toBeNull();
  });

  it('refuses writes while not the leader', async () => {
    const { e } = engine();
    await expect(e.submit('acme', { spec: spec(), idempotencyKey: '' })).rejects.toBeInstanceOf(NotLeaderError);
  });
});
