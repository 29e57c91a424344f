import * as grpc from '@grpc/grpc-js';
import { JobSpec, type SubmitJobResponse } from '@wharf/contracts';
import { uniqueName } from '@wharf/testing';
import { clients, startScheduler, tokens, unary, type RunningScheduler } from './scheduler-harness';

describe('scheduler: a fenced writer cannot write (real Kafka)', () => {
  const ns = uniqueName('it-fence');
  const started: RunningScheduler[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it('the newer instance takes over the state; the older one answers UNAVAILABLE and stands down', async () => {
    const old = await startScheduler(ns);
    started.push(old);
    const spec = (name: string) => JobSpec.fromPartial({ name, namespace: 'team-a', queue: 'batch', image: 'busybox' });
    const first = await unary<unknown, SubmitJobResponse>(clients(old.address).jobs, 'submitJob', { spec: spec('before'), idempotencyKey: '' }, tokens.acme);

    const next = await startScheduler(ns);
    started.push(next);
    expect(next.store.get(first.job?.jobId as string)).toBeDefined();

    await expect(
      unary(clients(old.address).jobs, 'submitJob', { spec: spec('after'), idempotencyKey: '' }, tokens.acme),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await old.leadership.settled();
    expect(old.leadership.isLeading()).toBe(false);
    // Nothing the fenced writer tried landed: the new leader never heard of 'after'.
    const onNew = await unary<unknown, SubmitJobResponse>(clients(next.address).jobs, 'submitJob', { spec: spec('after'), idempotencyKey: '' }, tokens.acme);
    expect(onNew.created).toBe(true);
  });
});
