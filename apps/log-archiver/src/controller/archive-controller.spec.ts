import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@wharf/platform';
import { Registry } from 'prom-client';
import { FakeKube, jobFixture, podFixture } from '../../test/fake-kube';
import { FlakyStore } from '../../test/flaky-store';
import { FilesystemStore } from '../archive/filesystem-store';
import { ObjectLayout } from '../archive/object-layout';
import type { JobLike } from '../kube/kube-objects';
import { ArchiveController, reasonOf, type JobSource } from './archive-controller';
import { ArchiveProcedure, StepFailedError } from './archive-procedure';
import { ArchiverMetrics } from './archiver-metrics';
import { ArchiveStoreError } from '../archive/archive-store';

const logger = createLogger({ service: 'test', level: 'silent' });
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function setup(opts: { onDeadline?: 'hold' | 'release'; deadlineMs?: number; leader?: boolean } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'wharf-ctl-'));
  roots.push(root);
  const kube = new FakeKube();
  const store = new FlakyStore(new FilesystemStore({ root, fsync: false }));
  const clock = { now: new Date('2026-11-21T00:01:00Z') };
  const procedure = new ArchiveProcedure({ store, layout: new ObjectLayout('logs'), jobs: kube, pods: kube, secrets: kube, observations: kube, clock: () => clock.now, logger });
  const handlers: Parameters<JobSource['subscribe']>[0][] = [];
  const source: JobSource = {
    list: () => [...kube.jobs.values()],
    subscribe: (h) => {
      handlers.push(h);
      return () => undefined;
    },
  };
  const registry = new Registry();
  const metrics = new ArchiverMetrics(registry);
  let leader = opts.leader ?? true;
  const controller = new ArchiveController({
    source,
    jobs: kube,
    procedure,
    leadership: { isLeader: () => leader },
    retry: { minDelayMs: 60_000, maxDelayMs: 60_000, deadlineMs: opts.deadlineMs ?? 3_600_000, onDeadline: opts.onDeadline ?? 'hold' },
    workers: 2,
    deleteJob: true,
    clock: () => clock.now,
    logger,
    metrics,
  });
  const emit = (job: JobLike) => handlers.forEach((h) => h.update?.(job, job));
  return { kube, store, controller, emit, registry, clock, setLeader: (v: boolean) => (leader = v) };
}

function finishedJob(kube: FakeKube, name = 'w-a-r1-00000000') {
  const job = kube.addJob(jobFixture({ name, uid: `${name}-uid`, jobId: name.slice(2, 12), finished: 'Complete', completions: 1 }));
  const pod = podFixture(job, 0);
  kube.pods.push(pod);
  kube.logs.set(`${pod.metadata?.name}/main`, 'hello\n');
  return job;
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((n, v) => n + Number(v.value), 0);
}

describe('ArchiveController', () => {
  it('archives Jobs found at start and Jobs that finish later', async () => {
    const t = setup();
    finishedJob(t.kube, 'w-a-r1-00000000');
    await t.controller.start();
    await t.controller.idle();
    expect(t.kube.jobs.size).toBe(0);
    const later = finishedJob(t.kube, 'w-b-r1-00000000');
    t.emit(later);
    await t.controller.idle();
    expect(t.kube.jobs.size).toBe(0);
    expect(await metric(t.registry, 'wharf_log_archiver_jobs_archived_total')).toBe(2);
    await t.controller.stop();
  });

  it('while the store is down: holds the finalizer, reports ArchiveFailed(retrying) once, exposes it in metrics', async () => {
    const t = setup();
    finishedJob(t.kube);
    t.store.down = true;
    await t.controller.start();
    await t.controller.idle();
    expect(t.kube.jobs.size).toBe(1);
    expect(t.kube.effects).toEqual([
      { kind: 'publish', observation: expect.objectContaining({ archiveFailed: { reason: 'StoreUnavailable', released: false, retrying: true } }) },
    ]);
    expect(await metric(t.registry, 'wharf_log_archiver_store_up')).toBe(0);
    expect(await metric(t.registry, 'wharf_log_archiver_failures_total')).toBe(1);
    expect(await metric(t.registry, 'wharf_log_archiver_pending_jobs')).toBe(1);
    // Store back; the next event (informer resync) completes it.
    t.store.down = false;
    t.emit([...t.kube.jobs.values()][0] as JobLike);
    await t.controller.idle();
    expect(t.kube.jobs.size).toBe(0);
    expect(await metric(t.registry, 'wharf_log_archiver_store_up')).toBe(1);
    await t.controller.stop();
  });

  it('after the deadline with policy "release": records the loss, releases and deletes', async () => {
    const t = setup({ onDeadline: 'release', deadlineMs: 1_000 });
    finishedJob(t.kube);
    t.store.down = true;
    await t.controller.start();
    await t.controller.idle();
    expect(t.kube.effects.map((e) => e.kind)).toEqual(['publish', 'removeFinalizer', 'delete']);
    expect(t.kube.effects[0]).toMatchObject({ observation: { archiveFailed: { released: true, retrying: false } } });
    expect(await metric(t.registry, 'wharf_log_archiver_released_unarchived_total')).toBe(1);
    await t.controller.stop();
  });

  it('after the deadline with policy "hold": keeps the finalizer and reports once more', async () => {
    const t = setup({ onDeadline: 'hold', deadlineMs: 1_000 });
    const job = finishedJob(t.kube);
    t.store.down = true;
    await t.controller.start();
    await t.controller.idle();
    t.emit(job);
    await t.controller.idle();
    expect(t.kube.jobs.size).toBe(1);
    expect(t.kube.effects.filter((e) => e.kind === 'publish')).toHaveLength(1);
    await t.controller.stop();
  });

  it('a standby does nothing; it works once it leads', async () => {
    const t = setup({ leader: false });
    finishedJob(t.kube);
    await t.controller.start();
    await t.controller.idle();
    expect(t.kube.jobs.size).toBe(1);
    t.setLeader(true);
    t.controller.resync();
    await t.controller.idle();
    expect(t.kube.jobs.size).toBe(0);
    await t.controller.stop();
  });

  it('maps failures to short reasons', () => {
    expect(reasonOf(new StepFailedError('archive', new ArchiveStoreError('x', 'BucketMissing')))).toBe('BucketMissing');
    expect(reasonOf(new StepFailedError('publish', new Error('broker down')))).toBe('KafkaUnavailable');
    expect(reasonOf(new StepFailedError('finalizer', new Error('apiserver down')))).toBe('KubernetesUnavailable');
  });
});
