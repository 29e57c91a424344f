import { JobSpec, JobState, Topics, type Job, type LaunchCommand, type SubmitJobResponse } from '@wharf/contracts';
import { eventually, uniqueName } from '@wharf/testing';
import type { Consumer, Producer } from 'kafkajs';
import {
  clients,
  collectWatch,
  decodeLaunch,
  eventsOf,
  follow,
  kafkaClient,
  observationRecord,
  observationsTopic,
  startScheduler,
  tokens,
  topicOf,
  unary,
  withToken,
  type RunningScheduler,
} from './scheduler-harness';

describe('scheduler: submit → admit → launch → observations → SUCCEEDED (real Kafka)', () => {
  const ns = uniqueName('it-life');
  const kafka = kafkaClient();
  let scheduler: RunningScheduler;
  let producer: Producer;
  let launches: { items: { key: string; value: LaunchCommand }[]; consumer: Consumer };

  beforeAll(async () => {
    scheduler = await startScheduler(ns);
    producer = kafka.producer();
    await producer.connect();
    launches = await follow(kafka, topicOf(ns, Topics.launch), decodeLaunch);
  });
  afterAll(async () => {
    await launches?.consumer.disconnect();
    await producer?.disconnect();
    await scheduler?.stop();
  });

  it('runs seed 000 (five items, parallelism 3) to SUCCEEDED, and a resumed watcher misses nothing', async () => {
    const { jobs } = clients(scheduler.address);
    const spec = JobSpec.fromPartial({
      name: 'seed-000',
      namespace: 'team-a',
      queue: 'batch',
      image: 'busybox:1.36',
      command: ['sh', '-c', 'echo $WHARF_ITEM'],
      items: ['foo', 'bar', 'baz', 'qux', 'xyz'],
      parallelism: 3,
      resources: { cpu: '500m', memory: '64Mi', gpu: 0 },
      secrets: [{ env: 'API_TOKEN', value: 'canary-secret-value' }],
    });
    const submitted = await unary<unknown, SubmitJobResponse>(jobs, 'submitJob', { spec, idempotencyKey: '' }, tokens.acme);
    expect(submitted.created).toBe(true);
    const jobId = submitted.job?.jobId as string;
    expect(jobId).toMatch(/^seed-000-[0-9a-f]{16}$/);
    expect(JSON.stringify(submitted)).not.toContain('canary-secret-value');

    // The first watcher reads a few events and disconnects.
    const first = eventsOf(await collectWatch(jobs.watchJob({ jobId, afterSequence: 0 }, withToken(tokens.acme)), (items) => eventsOf(items).length >= 2));

    const launch = await eventually(
      () => {
        const found = launches.items.find((l) => l.key === jobId && l.value.launch);
        if (!found) throw new Error('no LaunchRun yet');
        return found.value.launch;
      },
      { timeoutMs: 20_000, description: 'the LaunchRun on wharf.launch' },
    );
    expect(launch).toMatchObject({ jobId, run: 1, tenant: 'acme' });
    // The launcher needs the inline secret value; it travels only on wharf.launch.
    expect(launch?.spec?.secrets[0]?.value).toBe('canary-secret-value');

    const send = (o: Parameters<typeof observationRecord>[0]) => producer.send({ topic: observationsTopic(ns), messages: [observationRecord(o)] });
    await send({ jobId, run: 1, created: { namespace: 'team-a', jobName: launch?.spec ? `w-${jobId}` : '' } });
    await send({ jobId, run: 1, started: {} });
    for (let index = 0; index < 5; index++) {
      await send({ jobId, run: 1, index: { result: { index, succeeded: true, exitCode: 0, reason: '', outputJson: '' } } });
    }
    // Duplicates and a stale observation are harmless.
    await send({ jobId, run: 1, started: {} });
    await send({ jobId, run: 1, finished: { succeeded: true, reason: 'Completed', message: '', counts: { total: 5, succeeded: 5, failed: 0, active: 0 }, failedIndexes: [] } });
    await send({ jobId, run: 1, finished: { succeeded: true, reason: 'Completed', message: '', counts: { total: 5, succeeded: 5, failed: 0, active: 0 }, failedIndexes: [] } });

    const job = await eventually(
      async () => {
        const j = await unary<unknown, Job>(jobs, 'getJob', { jobId }, tokens.acme);
        if (j.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`state ${j.state}`);
        return j;
      },
      { timeoutMs: 20_000, description: 'SUCCEEDED' },
    );
    expect(job.runs[0]?.indexes).toMatchObject({ total: 5, succeeded: 5 });

    // The second watcher resumes after the last sequence the first one saw.
    const last = first[first.length - 1]?.sequence ?? 0;
    const rest = eventsOf(
      await collectWatch(jobs.watchJob({ jobId, afterSequence: last }, withToken(tokens.acme)), (items) => eventsOf(items).some((e) => e.finished)),
    );
    const sequences = [...first, ...rest].map((e) => e.sequence);
    expect(sequences).toEqual(Array.from({ length: job.sequence }, (_, i) => i + 1));
    expect(rest[rest.length - 1]?.finished?.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(JSON.stringify([...first, ...rest])).not.toContain('canary-secret-value');
  });

  it('sends heartbeats on an idle watch', async () => {
    const { jobs } = clients(scheduler.address);
    const spec = JobSpec.fromPartial({ name: 'idle', namespace: 'team-a', queue: 'batch', image: 'busybox', resources: { cpu: '8', memory: '', gpu: 0 } });
    const a = await unary<unknown, SubmitJobResponse>(jobs, 'submitJob', { spec, idempotencyKey: uniqueName('idle') }, tokens.acme);
    const items = await collectWatch(jobs.watchJob({ jobId: a.job?.jobId as string, afterSequence: 100 }, withToken(tokens.acme)), (xs) => xs.filter((x) => x.heartbeat).length >= 2);
    expect(items.filter((x) => x.heartbeat)).toHaveLength(2);
  });
});

