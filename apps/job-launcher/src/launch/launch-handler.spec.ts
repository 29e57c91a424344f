import { ContentTypes, encodeMessage, LaunchCommand, RecordHeaders, type Observation } from '@wharf/contracts';
import { createLogger, InvalidArgumentError, NotFoundError, SecretSealer, UnavailableError } from '@wharf/platform';
import { Writable } from 'node:stream';
import { FakeWorkloads } from '../../test/fake-workloads';
import { launchRun, seed000, testPolicy } from '../../test/launch-fixtures';
import type { KeyedObservation } from '../watch/status-interpreter';
import { defaultRenderOptions, type RenderOptions } from './job-renderer';
import { LaunchHandler, LaunchRefusedError } from './launch-handler';
import { configMapName, inputsChunkName, kubeJobName, secretName } from './launch-names';

const now = new Date('2030-01-01T00:00:00Z');

function setup(
  findCachedJob?: (ns: string, name: string) => ReturnType<FakeWorkloads['jobs']['get']>,
  render: RenderOptions = defaultRenderOptions,
  sealer?: SecretSealer,
) {
  const workloads = new FakeWorkloads();
  const published: KeyedObservation[] = [];
  const logLines: string[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  });
  const handler = new LaunchHandler({
    workloads,
    publisher: {
      publish: async (obs) => {
        published.push(...obs);
        return obs.length;
      },
    },
    policy: { ...testPolicy, rejectUnknownFields: true },
    render,
    sealer,
    logger,
    now: () => now,
    findCachedJob,
  });
  return { workloads, published, logLines, handler };
}

const json = (value: unknown) => ({ value: Buffer.from(JSON.stringify(value)), headers: { [RecordHeaders.contentType]: ContentTypes.json } });
const proto = (command: LaunchCommand) => ({ value: encodeMessage(LaunchCommand, command), headers: {} });
const launchRecord = (run = seed000()) => proto({ launch: run, cancel: undefined });

describe('LaunchHandler', () => {
  it("creates seed 000's Job suspended, its ConfigMap owned by it, then resumes it", async () => {
    const { handler, workloads, published } = setup();
    await handler.handle(launchRecord());
    const name = kubeJobName(seed000().jobId, 1);
    expect(workloads.calls).toEqual(['createJob', 'createConfigMap', 'resumeJob']);
    const job = workloads.jobs.get(`default/${name}`);
    expect(job?.spec?.suspend).toBe(false);
    expect(workloads.configMaps.get(`default/${configMapName(name)}`)?.metadata.ownerReferences?.[0]?.uid).toBe(job?.metadata.uid);
    expect(published).toEqual([]); // "created" comes from the watcher
  });

  it('creates a single-pod job with one request', async () => {
    const { handler, workloads } = setup();
    await handler.handle(launchRecord(launchRun({}, { command: ['true'] })));
    expect(workloads.calls).toEqual(['createJob']);
  });

  it('treats a re-delivered command as done, and finishes a half-done launch', async () => {
    const { handler, workloads } = setup();
    workloads.failNext = { verb: 'resumeJob', error: new UnavailableError('apiserver down') };
    await expect(handler.handle(launchRecord())).rejects.toThrow('apiserver down');
    await handler.handle(launchRecord());
    await handler.handle(launchRecord());
    expect(workloads.jobs.size).toBe(1);
    expect(workloads.configMaps.size).toBe(1);
    expect([...workloads.jobs.values()][0]?.spec?.suspend).toBe(false);
    expect(workloads.calls).toEqual([
      'createJob', 'createConfigMap', 'resumeJob',
      'createJob', 'getJob', 'createConfigMap', 'getConfigMapMeta', 'resumeJob',
      'createJob', 'getJob', 'createConfigMap', 'getConfigMapMeta',
    ]);
  });

  it("refuses to adopt someone else's Job with the same name", async () => {
    const { handler, workloads, published } = setup();
    const name = kubeJobName(seed000().jobId, 1);
    workloads.jobs.set(`default/${name}`, { metadata: { name, namespace: 'default', uid: 'other', labels: { app: 'theirs' } } });
    await expect(handler.handle(launchRecord())).rejects.toBeInstanceOf(LaunchRefusedError);
    expect(published.map((p) => p.observation.rejected?.reason)).toEqual(['NameConflict']);
    expect(workloads.calls).toEqual(['createJob', 'getJob']);
  });

  it('rejects hostile JSON commands with a rejected observation and no Job', async () => {
    const { handler, workloads, published } = setup();
    const hostile = {
      launch: {
        jobId: 'evil-1',
        run: 1,
        spec: { namespace: 'default', image: 'busybox', hostNetwork: true, securityContext: { privileged: true } },
      },
    };
    const error = await handler.handle(json(hostile)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchRefusedError);
    expect(workloads.calls).toEqual([]);
    expect(published).toHaveLength(1);
    const observation = published[0]?.observation as Observation;
    expect(observation).toMatchObject({ jobId: 'evil-1', run: 1, source: 'job-launcher' });
    expect(observation.rejected?.reason).toBe('PolicyViolation');
    expect(observation.rejected?.violations.map((v) => v.field)).toEqual([
      'launch.spec.hostNetwork',
      'launch.spec.securityContext',
      'launch.spec.securityContext.privileged',
    ]);
  });

  it('rejects protobuf commands carrying unknown fields', async () => {
    const { handler, workloads, published } = setup();
    const bytes = Buffer.concat([encodeMessage(LaunchCommand, { launch: seed000(), cancel: undefined }), Buffer.from([0xf8, 0x06, 0x01])]);
    await expect(handler.handle({ value: bytes, headers: {} })).rejects.toBeInstanceOf(LaunchRefusedError);
    expect(workloads.calls).toEqual([]);
    expect(published[0]?.observation.rejected?.violations[0]?.description).toMatch(/fields this launcher does not know/);
  });

  it('rejects foreign namespaces and disallowed images; a command naming no run only goes to the DLQ', async () => {
    const { handler, published } = setup();
    await expect(handler.handle(launchRecord(launchRun({}, { namespace: 'kube-system' })))).rejects.toBeInstanceOf(LaunchRefusedError);
    await expect(handler.handle(launchRecord(launchRun({ jobId: 'BAD' }, { image: 'evil.io/x' })))).rejects.toBeInstanceOf(LaunchRefusedError);
    expect(published.map((p) => p.key)).toEqual(['demo-0123456789abcdef/1/rejected']);
  });

  it('throws DecodeError for records that do not decode', async () => {
    const { handler } = setup();
    await expect(handler.handle({ value: Buffer.from('{not json'), headers: {} })).rejects.toThrow('invalid JSON');
    await expect(handler.handle(json({}))).rejects.toBeInstanceOf(LaunchRefusedError);
  });

  it('reports Kubernetes refusals (missing namespace) as rejected runs', async () => {
    const { handler, workloads, published } = setup();
    workloads.failNext = { verb: 'createJob', error: new NotFoundError('namespaces "default" not found') };
    await expect(handler.handle(launchRecord())).rejects.toBeInstanceOf(LaunchRefusedError);
    expect(published[0]?.observation.rejected).toEqual({
      reason: 'KubernetesRejected',
      violations: [{ field: '', description: 'namespaces "default" not found' }],
    });
  });

  describe('a fan-out whose items need several inputs ConfigMaps', () => {
    // 30 items of 100 bytes count 122 or 123 bytes each: 7 or 8 per chunk of 1,000 → 4 chunks.
    const render = { ...defaultRenderOptions, inputsChunkBytes: 1_000 };
    const fanOut = () => launchRun({}, { items: Array.from({ length: 30 }, (_, i) => `${i}:`.padEnd(100, 'x')), command: ['work'] });
    const name = kubeJobName(fanOut().jobId, 1);
    const chunkNames = [0, 1, 2, 3].map((c) => `default/${inputsChunkName(name, c)}`);

    it('creates every chunk, owned by the Job, before resuming it', async () => {
      const { handler, workloads, published } = setup(undefined, render);
      await handler.handle(launchRecord(fanOut()));
      expect(workloads.calls).toEqual(['createJob', 'createConfigMap', 'createConfigMap', 'createConfigMap', 'createConfigMap', 'resumeJob']);
      const job = workloads.jobs.get(`default/${name}`);
      expect([...workloads.configMaps.keys()]).toEqual(chunkNames);
      for (const cm of workloads.configMaps.values()) expect(cm.metadata.ownerReferences?.[0]?.uid).toBe(job?.metadata.uid);
      const items = Object.assign({}, ...[...workloads.configMaps.values()].map((cm) => cm.data)) as Record<string, string>;
      expect(Object.keys(items)).toHaveLength(31); // inputs.json + 30 items
      expect(job?.spec?.suspend).toBe(false);
      expect(job?.spec?.template.spec.volumes?.[0]?.projected?.sources).toHaveLength(4);
      expect(published).toEqual([]);
    });

    it('finishes a launch that crashed between two chunks when the command comes again', async () => {
      const { handler, workloads } = setup(undefined, render);
      workloads.failNext = { verb: 'createConfigMap', error: new UnavailableError('apiserver down'), skip: 2 };
      await expect(handler.handle(launchRecord(fanOut()))).rejects.toThrow('apiserver down');
      expect(workloads.configMaps.size).toBe(2);
      expect(workloads.jobs.get(`default/${name}`)?.spec?.suspend).toBe(true); // no pod without its item
      workloads.calls.length = 0;
      await handler.handle(launchRecord(fanOut()));
      expect(workloads.calls).toEqual([
        'createJob', 'getJob',
        'createConfigMap', 'getConfigMapMeta', 'createConfigMap', 'getConfigMapMeta', 'createConfigMap', 'createConfigMap',
        'resumeJob',
      ]);
      expect([...workloads.configMaps.keys()].sort()).toEqual([...chunkNames].sort());
      expect(workloads.jobs.get(`default/${name}`)?.spec?.suspend).toBe(false);
    });

    it('deletes its still-suspended Job after publishing the rejection when a chunk is refused for good', async () => {
      const { handler, workloads, published } = setup(undefined, render);
      workloads.failNext = { verb: 'createConfigMap', error: new InvalidArgumentError('etcdserver: request is too large'), skip: 1 };
      let publishedBeforeDelete = -1;
      const deleteJob = workloads.deleteJob.bind(workloads);
      workloads.deleteJob = async (namespace, jobName) => {
        publishedBeforeDelete = published.length;
        await deleteJob(namespace, jobName);
      };
      await expect(handler.handle(launchRecord(fanOut()))).rejects.toBeInstanceOf(LaunchRefusedError);
      expect(published.map((p) => p.observation.rejected?.reason)).toEqual(['KubernetesRejected']);
      expect(publishedBeforeDelete).toBe(1);
      expect(workloads.calls).toEqual(['createJob', 'createConfigMap', 'createConfigMap', 'getJob', 'annotateJob', 'deleteJob']);
      expect(workloads.jobs.size).toBe(0); // its chunks go with it (garbage collector)
    });

    it('leaves the Job alone when it is no longer suspended, or not ours', async () => {
      const resumed = setup(undefined, render);
      await resumed.handler.handle(launchRecord(fanOut()));
      // Say its chunk 3 was deleted meanwhile and cannot be created again: the run is rejected, the running Job stays.
      resumed.workloads.configMaps.delete(chunkNames[3] ?? '');
      resumed.workloads.failNext = { verb: 'createConfigMap', error: new InvalidArgumentError('forbidden: exceeded quota'), skip: 3 };
      await expect(resumed.handler.handle(launchRecord(fanOut()))).rejects.toBeInstanceOf(LaunchRefusedError);
      expect(resumed.workloads.calls.slice(-2)).toEqual(['createConfigMap', 'getJob']);
      expect(resumed.workloads.jobs.size).toBe(1);

      const theirs = setup(undefined, render);
      theirs.workloads.jobs.set(`default/${name}`, { metadata: { name, namespace: 'default', uid: 'other', labels: { app: 'theirs' } }, spec: { suspend: true, template: { spec: { containers: [] } } } });
      await expect(theirs.handler.handle(launchRecord(fanOut()))).rejects.toBeInstanceOf(LaunchRefusedError);
      expect(theirs.workloads.calls).toEqual(['createJob', 'getJob']);
      expect(theirs.workloads.jobs.size).toBe(1);
    });

    it('refuses an item larger than one chunk before creating anything', async () => {
      const { handler, workloads, published } = setup(undefined, render);
      const run = launchRun({}, { items: ['a', 'x'.repeat(1_000)] });
      await expect(handler.handle(launchRecord(run))).rejects.toBeInstanceOf(LaunchRefusedError);
      expect(workloads.calls).toEqual([]);
      expect(published[0]?.observation.rejected).toMatchObject({ reason: 'PolicyViolation', violations: [{ field: 'spec.items[1]' }] });
    });
  });

  it('cancels a running Job by deleting it and reports the cancellation', async () => {
    const { handler, workloads, published } = setup();
    await handler.handle(launchRecord());
    await handler.handle(proto({ launch: undefined, cancel: { jobId: seed000().jobId, run: 1, reason: 'user asked' } }));
    expect(workloads.jobs.size).toBe(0);
    expect(workloads.calls.slice(-2)).toEqual(['annotateJob', 'deleteJob']);
    expect(published.map((p) => [p.key, p.observation.cancelled?.reason])).toEqual([[`${seed000().jobId}/1/cancelled`, 'user asked']]);
    // Again: nothing to delete, the same fact again.
    await handler.handle(proto({ launch: undefined, cancel: { jobId: seed000().jobId, run: 1, reason: 'user asked' } }));
    expect(published).toHaveLength(2);
  });

  it('leaves a finished Job alone on cancel', async () => {
    const { handler, workloads, published } = setup();
    await handler.handle(launchRecord());
    const job = [...workloads.jobs.values()][0];
    if (job) job.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    await handler.handle(proto({ launch: undefined, cancel: { jobId: seed000().jobId, run: 1, reason: '' } }));
    expect(workloads.jobs.size).toBe(1);
    expect(published).toEqual([]);
  });

  it('never puts a secret value in logs, errors or observations', async () => {
    const canary = 'canary-41b7-do-not-leak';
    const { handler, workloads, published, logLines } = setup();
    const ok = launchRun({}, { secrets: [{ env: 'TOKEN', value: canary }] });
    await handler.handle(launchRecord(ok));
    const name = kubeJobName(ok.jobId, 1);
    expect(workloads.secrets.get(`default/${secretName(name)}`)?.data.TOKEN).toBe(Buffer.from(canary).toString('base64'));
    const bad = launchRun({ jobId: 'leaky-1' }, { namespace: 'kube-system', secrets: [{ env: 'WHARF_TOKEN', value: canary }] });
    const error = await handler.handle(json(LaunchCommand.toJSON({ launch: bad, cancel: undefined }))).catch((e: unknown) => e);
    expect(String((error as Error).message)).not.toContain(canary);
    expect(JSON.stringify(published)).not.toContain(canary);
    expect(logLines.join('\n')).not.toContain(canary);
    expect(logLines.length).toBeGreaterThan(0);
  });

  describe('sealed secret values (sealed by the scheduler)', () => {
    const canary = 'canary-5e2d-sealed';
    const sealer = SecretSealer.fromKey(Buffer.alloc(32, 3));
    const sealedRun = (jobId: string) =>
      launchRun({ jobId }, { secrets: [{ env: 'TOKEN', value: sealer.seal('TOKEN', canary) }] });

    it('are opened into the owned Secret', async () => {
      const { handler, workloads } = setup(undefined, defaultRenderOptions, sealer);
      const run = sealedRun('sealed-1');
      await handler.handle(launchRecord(run));
      const name = kubeJobName(run.jobId, 1);
      expect(workloads.secrets.get(`default/${secretName(name)}`)?.data.TOKEN).toBe(Buffer.from(canary).toString('base64'));
    });

    it.each([
      ['with another key', SecretSealer.fromKey(Buffer.alloc(32, 4)), /sealed with key .*, this service holds key/],
      ['without a key', undefined, /has no seal key/],
    ])('are refused %s: a rejected observation naming the field, no Job, no value anywhere', async (_, other, why) => {
      const { handler, workloads, published, logLines } = setup(undefined, defaultRenderOptions, other);
      const error = await handler.handle(launchRecord(sealedRun('sealed-2'))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LaunchRefusedError);
      expect(workloads.jobs.size).toBe(0);
      expect(workloads.secrets.size).toBe(0);
      const rejected = published.map((p) => p.observation.rejected).find(Boolean);
      expect(rejected?.violations).toEqual([{ field: 'spec.secrets[0].value', description: expect.stringMatching(why) }]);
      expect(JSON.stringify(published) + logLines.join('\n') + String(error)).not.toContain(canary);
    });
  });
});
