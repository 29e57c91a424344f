import { S3Client } from '@aws-sdk/client-s3';
import { ArchiveFinalizer } from '@wharf/contracts';
import { createLogger, loadConfig, type Component } from '@wharf/platform';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { FaultProxy } from '../test/fault-proxy';
import {
  archiverEnv,
  createBucket,
  createJob,
  getManifest,
  getObject,
  jobExists,
  kubeApis,
  ObservationCollector,
  renderedLog,
  sha256,
} from '../test/int-support';
import { createS3Client } from './archive/s3-store';
import { logArchiverConfigSchema } from './config';
import { composeLogArchiver } from './log-archiver-service';

/**
 * The "done when", against the real control plane (KWOK serves pod logs through the
 * API), the real S3 server (through a proxy the test can take down) and real Kafka.
 */
/**
 * How long a KWOK pod may take to start. The harness' container simulator currently waits up
 * to 60 s for kwok's kubelet API before it lets a pod start (libs/testing, being finished).
 */
const POD_START_MS = 70_000;
jest.setTimeout(4 * 60_000);

describe('log-archiver (real Kubernetes, S3, Kafka)', () => {
  const { batch, core } = kubeApis();
  const namespace = uniqueName('la');
  const observations = new ObservationCollector();
  let s3: S3Client;
  let bucket: string;
  let proxy: FaultProxy;
  let components: readonly Component[] = [];

  beforeAll(async () => {
    const infra = testInfra();
    s3 = createS3Client({
      endpoint: infra.s3.endpoint,
      region: infra.s3.region,
      bucket: 'unused',
      credentials: { accessKeyId: infra.s3.accessKeyId, secretAccessKey: infra.s3.secretAccessKey },
      forcePathStyle: true,
      partSizeBytes: 5 * 1024 * 1024,
      queueSize: 1,
    });
    bucket = await createBucket(s3);
    const url = new URL(infra.s3.endpoint);
    proxy = new FaultProxy({ host: url.hostname, port: Number(url.port) });
    await proxy.up();
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await observations.start();
    const env = archiverEnv({ namespace, bucket, s3Endpoint: proxy.endpoint });
    const config = loadConfig(logArchiverConfigSchema, { env, argv: [] });
    const logger = createLogger({ service: 'log-archiver', level: 'warn' });
    components = composeLogArchiver(config, { logger }).components;
    for (const c of components) await c.start?.();
  });

  afterAll(async () => {
    for (const c of [...components].reverse()) await c.stop?.();
    await observations.stop();
    await proxy.down();
    s3.destroy();
  });

  const manifestKey = (jobId: string, run = 1) => `logs/${namespace}/${jobId}/run-${run}/manifest.json`;

  it('archives a 3-index job: layout, checksums of the served logs, LogsArchived, finalizer only after the objects, Job deleted', async () => {
    const job = await createJob(batch, core, namespace, { completions: 3, init: true });
    // Watch the order: the moment the finalizer is gone (or the Job), the manifest must exist.
    let manifestSeenAtRelease = false;
    await eventually(
      async () => {
        const current = await jobExists(batch, namespace, job.name);
        if (current?.metadata?.finalizers?.includes(ArchiveFinalizer)) throw new Error('finalizer still on');
        manifestSeenAtRelease = (await getObject(s3, bucket, manifestKey(job.jobId))).length > 0;
      },
      { timeoutMs: POD_START_MS + 60_000, intervalMs: 20, description: 'the finalizer to be removed' },
    );
    expect(manifestSeenAtRelease).toBe(true);

    const manifest = await getManifest(s3, bucket, manifestKey(job.jobId));
    expect(manifest).toMatchObject({ namespace, jobId: job.jobId, run: 1, jobName: job.name, outcome: 'Complete', missing: [] });
    expect(manifest.objects).toHaveLength(6);
    expect(new Set(manifest.objects.map((o) => o.index))).toEqual(new Set([0, 1, 2]));
    for (const object of manifest.objects) {
      expect(object.key).toBe(`logs/${namespace}/${job.jobId}/run-1/index-${object.index}/${object.pod}/${object.container}.log`);
      const served = renderedLog(object.container, object.pod, object.index);
      const stored = await getObject(s3, bucket, object.key);
      expect(stored.toString()).toBe(served);
      expect(object).toMatchObject({ sha256: sha256(served), bytes: Buffer.byteLength(served), lines: 2, complete: true });
    }
    expect(manifest.objects.filter((o) => o.container === 'setup').every((o) => o.containerType === 'init')).toBe(true);

    await eventually(() => expect(observations.of(job.jobId).some((o) => o.logsArchived)).toBe(true), {
      timeoutMs: 20_000,
      description: 'LogsArchived on wharf.observations',
    });
    const archived = observations.of(job.jobId).find((o) => o.logsArchived);
    expect(archived).toMatchObject({
      run: 1,
      source: 'log-archiver',
      logsArchived: { manifest: `s3://${bucket}/${manifestKey(job.jobId)}`, objects: 6, missing: 0 },
    });
    await eventually(async () => expect(await jobExists(batch, namespace, job.name)).toBeUndefined(), {
      timeoutMs: 30_000,
      description: 'the Job to be deleted',
    });
  });

  it('holds the finalizer while S3 is down and completes when it is back, with 0 corrupt objects', async () => {
    await proxy.down();
    let job;
    try {
      job = await createJob(batch, core, namespace, { completions: 3 });
      const { jobId } = job;
      await eventually(() => expect(observations.of(jobId).some((o) => o.archiveFailed?.retrying)).toBe(true), {
        timeoutMs: POD_START_MS + 60_000,
        description: 'ArchiveFailed(retrying) while S3 is down',
      });
      const held = await jobExists(batch, namespace, job.name);
      expect(held?.metadata?.finalizers).toContain(ArchiveFinalizer);
      expect(held?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')).toBe(true);
    } finally {
      await proxy.up();
    }
    await eventually(async () => expect(await jobExists(batch, namespace, job.name)).toBeUndefined(), {
      timeoutMs: POD_START_MS + 60_000,
      description: 'the archive to complete once S3 is back',
    });
    const manifest = await getManifest(s3, bucket, manifestKey(job.jobId));
    expect(manifest.objects).toHaveLength(3);
    for (const object of manifest.objects) {
      const stored = await getObject(s3, bucket, object.key);
      expect(sha256(stored)).toBe(object.sha256);
    }
  });

  it('archives a cancelled (deleted while running) job, marking its logs incomplete', async () => {
    const job = await createJob(batch, core, namespace, { completions: 2, durationMs: 120_000 });
    await eventually(
      async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${job.name}` });
        expect(pods.items.filter((p) => p.status?.phase === 'Running')).toHaveLength(2);
      },
      { timeoutMs: POD_START_MS + 60_000, description: 'both pods running' },
    );
    await batch.deleteNamespacedJob({ namespace, name: job.name, propagationPolicy: 'Background' });
    await eventually(async () => expect(await jobExists(batch, namespace, job.name)).toBeUndefined(), {
      timeoutMs: POD_START_MS + 60_000,
      description: 'the cancelled Job to go',
    });
    const manifest = await getManifest(s3, bucket, manifestKey(job.jobId));
    expect(manifest.outcome).toBe('Cancelled');
    expect(manifest.objects).toHaveLength(2);
    expect(manifest.objects.every((o) => !o.complete)).toBe(true);
    for (const object of manifest.objects) {
      expect((await getObject(s3, bucket, object.key)).toString()).toBe(renderedLog(object.container, object.pod, object.index));
    }
  });

  it('writes explicit markers for a job whose pods are gone', async () => {
    // Suspended: the Job controller creates no pods (or deletes them); then it is cancelled.
    const job = await createJob(batch, core, namespace, { completions: 3, suspend: true });
    await batch.deleteNamespacedJob({ namespace, name: job.name, propagationPolicy: 'Background' });
    await eventually(async () => expect(await jobExists(batch, namespace, job.name)).toBeUndefined(), {
      timeoutMs: POD_START_MS + 60_000,
      description: 'the Job to go',
    });
    const manifest = await getManifest(s3, bucket, manifestKey(job.jobId));
    expect(manifest.objects).toEqual([]);
    expect(manifest.missing).toEqual([0, 1, 2].map((index) => ({ index, container: 'main', previous: false, reason: 'NoPod' })));
    const archived = await eventually(() => {
      const o = observations.of(job.jobId).find((x) => x.logsArchived);
      if (!o) throw new Error('no LogsArchived yet');
      return o;
    });
    expect(archived.logsArchived).toMatchObject({ objects: 0, missing: 3 });
  });

  it('never lets a secret canary printed by the job into the archive', async () => {
    const canary = `CANARY-${uniqueName('x')}`;
    const job = await createJob(batch, core, namespace, {
      completions: 1,
      secret: { API_TOKEN: canary },
      log: `token=${canary}\nsplit:${canary.slice(0, 5)}\n${canary}${canary}\n`,
    });
    await eventually(async () => expect(await jobExists(batch, namespace, job.name)).toBeUndefined(), {
      timeoutMs: POD_START_MS + 60_000,
      description: 'the Job to be archived',
    });
    const manifest = await getManifest(s3, bucket, manifestKey(job.jobId));
    expect(manifest.objects).toHaveLength(1);
    const stored = (await getObject(s3, bucket, manifest.objects[0]?.key ?? '')).toString();
    expect(stored).not.toContain(canary);
    expect(stored).toBe(`token=[redacted]\nsplit:${canary.slice(0, 5)}\n[redacted][redacted]\n`);
    expect(manifest.totals.redactions).toBe(3);
    expect(JSON.stringify(manifest)).not.toContain(canary);
    expect(JSON.stringify(observations.of(job.jobId))).not.toContain(canary);
  });
});
