import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@wharf/platform';
import { FakeKube, jobFixture, podFixture } from '../../test/fake-kube';
import { FlakyStore } from '../../test/flaky-store';
import { FilesystemStore } from '../archive/filesystem-store';
import { ObjectLayout } from '../archive/object-layout';
import { parseManifest } from '../archive/run-manifest';
import type { JobLike, ObjectMetaLike } from '../kube/kube-objects';
import { LogReadError } from '../kube/kube-ports';
import { digestOf } from '../logs/log-digest';
import { ArchiveProcedure, StepFailedError } from './archive-procedure';

const logger = createLogger({ service: 'test', level: 'silent' });
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'wharf-proc-'));
  roots.push(root);
  const kube = new FakeKube();
  const store = new FlakyStore(new FilesystemStore({ root, fsync: false }));
  const layout = new ObjectLayout('logs');
  const procedure = new ArchiveProcedure({
    store,
    layout,
    jobs: kube,
    pods: kube,
    secrets: kube,
    observations: kube,
    clock: () => new Date('2026-11-21T00:01:00Z'),
    logger,
  });
  return { kube, store, layout, procedure };
}

function meta(o: { metadata?: ObjectMetaLike }): ObjectMetaLike {
  o.metadata ??= {};
  return o.metadata;
}

async function readText(store: FlakyStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.read(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A finished 3-index job with an init container, its pods and their logs. */
function threeIndexJob(t: ReturnType<typeof setup>) {
  const job = t.kube.addJob(jobFixture({ finished: 'Complete', initContainers: ['fetch'] }));
  for (let i = 0; i < 3; i++) {
    const pod = podFixture(job, i, { init: ['fetch'] });
    t.kube.pods.push(pod);
    t.kube.logs.set(`${pod.metadata?.name}/main`, `index ${i} line 1\nindex ${i} line 2\n`);
    t.kube.logs.set(`${pod.metadata?.name}/fetch`, `fetched ${i}`);
  }
  return job;
}

describe('ArchiveProcedure', () => {
  it('archives every container of every index, then manifest → LogsArchived → finalizer → delete', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    const outcome = await t.procedure.run(job);
    expect(outcome.kind).toBe('archived');
    const manifestKey = 'logs/team-a/train-0123456789abcdef/run-1/manifest.json';
    // All six logs, then the manifest, written before any other effect.
    expect(t.store.puts).toHaveLength(7);
    expect(t.store.puts[6]).toBe(manifestKey);
    expect(t.kube.effects.map((e) => e.kind)).toEqual(['publish', 'removeFinalizer', 'delete']);
    const published = t.kube.effects[0];
    expect(published).toMatchObject({
      kind: 'publish',
      observation: {
        jobId: 'train-0123456789abcdef',
        run: 1,
        source: 'log-archiver',
        logsArchived: { manifest: t.store.uri(manifestKey), objects: 6, missing: 0 },
      },
    });
    expect(t.kube.effects[1]).toEqual({ kind: 'removeFinalizer', annotations: { 'wharf.dev/logs-archived': t.store.uri(manifestKey) } });
    expect(t.kube.jobs.size).toBe(0);

    const manifest = parseManifest(Buffer.from(await readText(t.store, manifestKey)));
    expect(manifest).toBeDefined();
    expect(manifest?.outcome).toBe('Complete');
    expect(manifest?.objects.map((o) => o.key)).toContain(
      'logs/team-a/train-0123456789abcdef/run-1/index-2/w-train-r1-abcdef12-2-aaaaa/fetch.log',
    );
    for (const object of manifest?.objects ?? []) {
      const text = await readText(t.store, object.key);
      expect(digestOf(Buffer.from(text))).toEqual({ bytes: object.bytes, lines: object.lines, sha256: object.sha256 });
    }
    expect(manifest?.objects.find((o) => o.container === 'fetch')).toMatchObject({ containerType: 'init', lines: 1 });
  });

  it('replaces the job secret values in the archive (a canary never lands)', async () => {
    const t = setup();
    const job = t.kube.addJob(jobFixture({ finished: 'Failed', completions: 1, usesSecret: true }));
    const pod = podFixture(job, 0);
    t.kube.pods.push(pod);
    t.kube.secrets.set('team-a/w-train-r1-abcdef12-secrets', ['CANARY-7f3a9c', 'ab']);
    t.kube.logs.set(`${pod.metadata?.name}/main`, 'token is CANARY-7f3a9c\nagain:CANARY-7f3a9c!\nab stays\n');
    const outcome = await t.procedure.run(job);
    if (outcome.kind !== 'archived') throw new Error('not archived');
    const object = outcome.manifest.objects[0];
    const text = await readText(t.store, object?.key ?? '');
    expect(text).toBe('token is [redacted]\nagain:[redacted]!\nab stays\n');
    expect(object?.redactions).toBe(2);
    expect(outcome.manifest.outcome).toBe('Failed');
  });

  it('refuses to archive unredacted logs when the job uses its Secret and the Secret is gone', async () => {
    const t = setup();
    const job = t.kube.addJob(jobFixture({ finished: 'Complete', completions: 1, usesSecret: true }));
    const pod = podFixture(job, 0);
    t.kube.pods.push(pod);
    t.kube.logs.set(`${pod.metadata?.name}/main`, 'token is CANARY\n');
    const outcome = await t.procedure.run(job);
    if (outcome.kind !== 'archived') throw new Error('not archived');
    expect(outcome.manifest.objects).toEqual([]);
    expect(outcome.manifest.missing).toEqual([
      expect.objectContaining({ index: 0, container: 'main', reason: 'RedactionUnavailable' }),
    ]);
    expect(t.store.puts).toHaveLength(1);
  });

  it('writes explicit markers: no pod for an index, a container that never started, a pod gone mid-way', async () => {
    const t = setup();
    const job = t.kube.addJob(jobFixture({ deleting: true, completions: 3 }));
    const running = podFixture(job, 0, { state: 'running' });
    const waiting = podFixture(job, 1, { state: 'waiting' });
    t.kube.pods.push(running, waiting);
    t.kube.logs.set(`${running.metadata?.name}/main`, 'partial output\n');
    const outcome = await t.procedure.run(job);
    if (outcome.kind !== 'archived') throw new Error('not archived');
    expect(outcome.manifest.outcome).toBe('Cancelled');
    expect(outcome.manifest.objects).toEqual([expect.objectContaining({ index: 0, complete: false, lines: 1 })]);
    expect(outcome.manifest.missing).toEqual([
      expect.objectContaining({ index: 1, container: 'main', reason: 'ContainerNeverStarted', detail: 'ContainerCreating' }),
      { index: 2, container: 'main', previous: false, reason: 'NoPod' },
    ]);
    // A Job already being deleted is not deleted again; removing the finalizer lets it go.
    expect(t.kube.effects.map((e) => e.kind)).toEqual(['publish', 'removeFinalizer']);
    expect(t.kube.jobs.size).toBe(0);
  });

  it('archives the previous instance of a restarted container, and marks it when Kubernetes lost it', async () => {
    const t = setup();
    const job = t.kube.addJob(jobFixture({ finished: 'Complete', completions: 2 }));
    const p0 = podFixture(job, 0, { restarts: 1 });
    const p1 = podFixture(job, 1, { restarts: 1 });
    t.kube.pods.push(p0, p1);
    t.kube.logs.set(`${p0.metadata?.name}/main`, 'second try\n');
    t.kube.logs.set(`${p0.metadata?.name}/main/previous`, 'first try\n');
    t.kube.logs.set(`${p1.metadata?.name}/main`, 'second try\n');
    t.kube.logs.set(`${p1.metadata?.name}/main/previous`, new LogReadError('previous terminated container not found', 'LogUnavailable', true));
    const outcome = await t.procedure.run(job);
    if (outcome.kind !== 'archived') throw new Error('not archived');
    expect(outcome.manifest.objects.map((o) => o.key.split('/').slice(-2).join('/'))).toEqual([
      `${p0.metadata?.name}/main.log`,
      `${p0.metadata?.name}/main.previous.log`,
      `${p1.metadata?.name}/main.log`,
    ]);
    expect(outcome.manifest.missing).toEqual([expect.objectContaining({ index: 1, previous: true, reason: 'PreviousUnavailable' })]);
  });

  it('holds the finalizer while the store is down, then completes when it is back', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    t.store.down = true;
    await expect(t.procedure.run(job)).rejects.toMatchObject({ name: 'StepFailedError', retriable: true });
    expect(t.kube.effects).toEqual([]);
    expect(t.kube.jobs.get('team-a/w-train-r1-abcdef12')?.metadata?.finalizers).toEqual(['wharf.dev/archive-logs']);
    t.store.down = false;
    await expect(t.procedure.run((await t.kube.get('team-a', 'w-train-r1-abcdef12')) as JobLike)).resolves.toMatchObject({ kind: 'archived', resumed: false });
  });

  it('a failure mid-archive leaves no manifest; the retry rewrites the same keys (no duplicates)', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    t.store.failPutOn = /index-2/;
    const error = await t.procedure.run(job).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as StepFailedError).step).toBe('archive');
    expect(await t.store.stat('logs/team-a/train-0123456789abcdef/run-1/manifest.json')).toBeUndefined();
    await t.procedure.run(job);
    const keys = (await t.store.list('logs/')).map((o) => o.key);
    expect(keys).toHaveLength(7);
    expect(new Set(keys).size).toBe(7);
  });

  it('resumes after a crash between manifest and publish without re-reading logs', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    t.kube.publishFailures = 1;
    await expect(t.procedure.run(job)).rejects.toMatchObject({ step: 'publish' });
    const opens = t.kube.logOpens;
    const puts = t.store.puts.length;
    const outcome = await t.procedure.run(job);
    expect(outcome).toMatchObject({ kind: 'archived', resumed: true });
    expect(t.kube.logOpens).toBe(opens);
    expect(t.store.puts).toHaveLength(puts);
    expect(t.kube.effects.map((e) => e.kind)).toEqual(['publish', 'removeFinalizer', 'delete']);
  });

  it('re-archives when the manifest belongs to an earlier Job with the same name (another uid)', async () => {
    const t = setup();
    await t.procedure.run(threeIndexJob(t));
    t.kube.pods.splice(0);
    const again = threeIndexJob(t);
    meta(again).uid = 'uid-2';
    t.kube.pods.forEach((p) => (meta(p).labels = { 'controller-uid': 'uid-2' }));
    const outcome = await t.procedure.run(again);
    expect(outcome).toMatchObject({ kind: 'archived', resumed: false });
  });

  it('finishes the deletion after a crash between finalizer removal and delete', async () => {
    const t = setup();
    const job = t.kube.addJob({
      ...jobFixture({ finished: 'Complete' }),
    });
    meta(job).finalizers = [];
    meta(job).annotations = { ...meta(job).annotations, 'wharf.dev/logs-archived': 's3://b/m.json' };
    expect(await t.procedure.run(job)).toEqual({ kind: 'deleted' });
    expect(t.kube.effects).toEqual([{ kind: 'delete', name: 'w-train-r1-abcdef12' }]);
  });

  it('re-reads the Job and retries when the finalizer patch conflicts', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    t.kube.conflicts = 2;
    await expect(t.procedure.run(job)).resolves.toMatchObject({ kind: 'archived' });
    expect(t.kube.jobs.size).toBe(0);
  });

  it('leaves running Jobs and Jobs without the finalizer alone', async () => {
    const t = setup();
    const running = t.kube.addJob(jobFixture({}));
    expect(await t.procedure.run(running)).toEqual({ kind: 'idle' });
    const foreign = jobFixture({ finished: 'Complete' });
    meta(foreign).finalizers = [];
    expect(await t.procedure.run(foreign)).toEqual({ kind: 'idle' });
    expect(t.kube.effects).toEqual([]);
  });

  it('release: records the loss first, then removes the finalizer and deletes the Job', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    await expect(t.procedure.release(job, 'StoreUnavailable')).resolves.toEqual({ kind: 'released' });
    expect(t.kube.effects).toEqual([
      {
        kind: 'publish',
        observation: expect.objectContaining({ archiveFailed: { reason: 'StoreUnavailable', released: true, retrying: false } }),
      },
      { kind: 'removeFinalizer', annotations: { 'wharf.dev/logs-lost': 'StoreUnavailable' } },
      { kind: 'delete', name: 'w-train-r1-abcdef12' },
    ]);
  });

  it('fresh: skips the manifest lookup and the cleanup, and still archives correctly', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    let looked = 0;
    const stat = t.store.stat.bind(t.store);
    t.store.stat = async (key: string) => {
      looked++;
      return stat(key);
    };
    await expect(t.procedure.run(job, { fresh: true })).resolves.toMatchObject({ kind: 'archived', resumed: false });
    expect(looked).toBe(0);
    expect(t.store.puts).toHaveLength(7);
  });

  it('release: nothing is released when the loss cannot be recorded', async () => {
    const t = setup();
    const job = threeIndexJob(t);
    t.kube.publishFailures = 1;
    await expect(t.procedure.release(job, 'StoreUnavailable')).rejects.toMatchObject({ step: 'publish' });
    expect(t.kube.effects).toEqual([]);
  });
});
