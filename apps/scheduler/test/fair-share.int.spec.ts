import { JobSpec, Topics, type SubmitJobResponse } from '@wharf/contracts';
import { eventually, uniqueName } from '@wharf/testing';
import type { Consumer, Producer } from 'kafkajs';
import { clients, decodeLaunch, kafkaClient, observationRecord, observationsTopic, startScheduler, tokens, topicOf, unary, type RunningScheduler } from './scheduler-harness';

describe('scheduler: weighted fair share under contention (real Kafka)', () => {
  const ns = uniqueName('it-fair');
  const kafka = kafkaClient();
  let scheduler: RunningScheduler;
  let producer: Producer;
  let launcher: Consumer;

  beforeAll(async () => {
    scheduler = await startScheduler(ns, {
      capacity: { cpu: 8 },
      queues: [
        { name: 'heavy', weight: 3, tenants: ['acme'], namespaces: ['team-a'], quota: { cpu: 7 } },
        { name: 'light', weight: 1, tenants: ['acme'], namespaces: ['team-a'], quota: { cpu: 7 } },
      ],
    });
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await launcher?.disconnect();
    await producer?.disconnect();
    await scheduler?.stop();
  });

  it('admits two queues with weights 3:1 in that ratio (±10%) and never exceeds quota or capacity', async () => {
    const { jobs } = clients(scheduler.address);
    const order: string[] = [];
    const running = new Map<string, number>([['heavy', 0], ['light', 0]]);
    const violations: string[] = [];
    let done = false;
    // A fake job-launcher: every LaunchRun starts at once and succeeds 100-200 ms later.
    launcher = kafka.consumer({ groupId: uniqueName('fake-launcher'), maxWaitTimeInMs: 50 });
    await launcher.connect();
    await eventually(() => launcher.subscribe({ topic: topicOf(ns, Topics.launch), fromBeginning: true }), { timeoutMs: 20_000 });
    await launcher.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const launch = decodeLaunch(message.value, message.headers as Record<string, unknown>).launch;
        if (!launch) return;
        const queue = launch.spec?.queue ?? '';
        order.push(queue);
        running.set(queue, (running.get(queue) ?? 0) + 1);
        const total = [...running.values()].reduce((a, b) => a + b, 0);
        if ((running.get(queue) ?? 0) > 7) violations.push(`${queue} quota: ${running.get(queue)}`);
        if (total > 8) violations.push(`capacity: ${total}`);
        const { jobId, run } = launch;
        await producer.send({ topic: observationsTopic(ns), messages: [observationRecord({ jobId, run, started: {} })] });
        setTimeout(() => {
          if (done) return;
          running.set(queue, (running.get(queue) ?? 0) - 1);
          producer
            .send({
              topic: observationsTopic(ns),
              messages: [observationRecord({ jobId, run, finished: { succeeded: true, reason: 'Completed', message: '', counts: undefined, failedIndexes: [] } })],
            })
            .catch(() => undefined);
        }, 100 + Math.random() * 100);
      },
    });

    const submits: Promise<SubmitJobResponse>[] = [];
    for (let i = 0; i < 150; i++) {
      for (const queue of ['heavy', 'light']) {
        const spec = JobSpec.fromPartial({ name: `${queue}-${i}`, namespace: 'team-a', queue, image: 'busybox', resources: { cpu: '1', memory: '', gpu: 0 } });
        submits.push(unary(jobs, 'submitJob', { spec, idempotencyKey: '' }, tokens.acme));
      }
    }
    await Promise.all(submits);
    await eventually(
      () => {
        if (order.length < 168) throw new Error(`${order.length} admissions`);
      },
      { timeoutMs: 150_000, intervalMs: 500, description: '168 admissions' },
    );
    // While both queues have work waiting, heavy gets 3 of 4. The first 8 admissions (the initial
    // fill of the capacity of 8) are left out: they are decided while the submits still arrive,
    // by arrival order rather than by weight. Admissions 9-168 of 300 leave both queues waiting.
    done = true;
    const window = order.slice(8, 168);
    const heavy = window.filter((q) => q === 'heavy').length;
    const light = window.filter((q) => q === 'light').length;
    const ratio = heavy / light;
    expect(ratio).toBeGreaterThanOrEqual(2.7);
    expect(ratio).toBeLessThanOrEqual(3.3);
    expect(violations).toEqual([]);
  }, 180_000);
});
