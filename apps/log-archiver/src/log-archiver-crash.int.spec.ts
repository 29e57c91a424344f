import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { archiverEnv, createBucket, createJob, getManifest, getObject, kubeApis, sha256 } from '../test/int-support';
import { createS3Client } from './archive/s3-store';

/**
 * kill -9 of the archiver process in the middle of archiving, restart, and every job still ends
 * archived exactly once: N jobs (default 500; WHARF_LA_CRASH_JOBS), N/N manifests verified
 * against the stored bytes, no duplicate or stray objects, no incomplete multipart uploads.
 */
const JOBS = Number(process.env['WHARF_LA_CRASH_JOBS'] ?? 500);
jest.setTimeout(40 * 60_000);

const repo = resolve(__dirname, '../../..');
const bundle = resolve(repo, 'dist/apps/log-archiver/main.js');

describe('log-archiver kill -9 and restart (real Kubernetes, S3, Kafka)', () => {
  const { batch, core } = kubeApis();
  const namespace = uniqueName('la-crash');
  let s3: S3Client;
  let bucket: string;
  let child: ChildProcess | undefined;

  const startArchiver = (env: Record<string, string>): ChildProcess => {
    const proc = spawn(process.execPath, [bundle], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    return proc;
  };
  const countArchived = async (): Promise<number> => {
    let count = 0;
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'logs/', ContinuationToken: token }));
      count += (page.Contents ?? []).filter((o) => o.Key?.endsWith('/manifest.json')).length;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return count;
  };

  beforeAll(async () => {
    const build = spawnSync(process.execPath, ['tools/build/bundle.mjs', 'apps/log-archiver'], { cwd: repo, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`bundle failed: ${build.stderr}`);
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
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    s3.destroy();
  });

  it(`archives ${JOBS} jobs exactly once across a kill -9 mid-archive`, async () => {
    // ~40 KB of log per pod, so uploads are in flight when the process dies.
    const log = `${'x'.repeat(200)} \${POD_NAME} line\n`.repeat(190);
    const jobs = [];
    for (let i = 0; i < JOBS; i++) jobs.push(await createJob(batch, core, namespace, { completions: 1, durationMs: 100, log }));

    const env = { ...archiverEnv({ namespace, bucket, s3Endpoint: testInfra().s3.endpoint }), WHARF_ARCHIVER_WORKERS: '8' };
    child = startArchiver(env);
    // Kill it once about a tenth is archived: other jobs are mid-upload at that moment.
    await eventually(async () => expect(await countArchived()).toBeGreaterThanOrEqual(Math.max(1, Math.floor(JOBS / 10))), {
      timeoutMs: 20 * 60_000,
      intervalMs: 100,
      description: 'a tenth of the jobs to be archived',
    });
    child.kill('SIGKILL');
    await new Promise((r) => child?.once('exit', r));
    const atKill = await countArchived();

    child = startArchiver(env);
    await eventually(async () => expect(await countArchived()).toBe(JOBS), {
      timeoutMs: 20 * 60_000,
      intervalMs: 1_000,
      description: `all ${JOBS} manifests`,
    });
    await eventually(
      async () => {
        const left = await batch.listNamespacedJob({ namespace });
        expect(left.items).toHaveLength(0);
      },
      { timeoutMs: 5 * 60_000, intervalMs: 1_000, description: 'every Job deleted' },
    );
    child.kill('SIGTERM');

    // Verify: N/N manifests, every object's bytes match its manifest, nothing else stored.
    let verified = 0;
    const expectedKeys = new Set<string>();
    for (const job of jobs) {
      const manifestKey = `logs/${namespace}/${job.jobId}/run-1/manifest.json`;
      const manifest = await getManifest(s3, bucket, manifestKey);
      expect(manifest.objects).toHaveLength(1);
      expectedKeys.add(manifestKey);
      for (const object of manifest.objects) {
        const stored = await getObject(s3, bucket, object.key);
        expect(sha256(stored)).toBe(object.sha256);
        expect(stored.toString()).toBe(log.replaceAll('${POD_NAME}', object.pod));
        expectedKeys.add(object.key);
      }
      verified++;
    }
    const allKeys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      allKeys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(new Set(allKeys)).toEqual(expectedKeys);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(verified).toBe(JOBS);
    process.stderr.write(`\n[crash test] ${atKill}/${JOBS} archived at kill -9; ${verified}/${JOBS} manifests verified after restart\n`);
  });
});
