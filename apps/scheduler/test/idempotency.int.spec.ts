import * as grpc from '@grpc/grpc-js';
import { JobSpec, type SubmitJobResponse } from '@wharf/contracts';
import { uniqueName } from '@wharf/testing';
import { clients, startScheduler, tokens, unary, type RunningScheduler } from './scheduler-harness';

describe('scheduler: idempotent submits (real Kafka)', () => {
  const ns = uniqueName('it-idem');
  let scheduler: RunningScheduler;

  beforeAll(async () => {
    scheduler = await startScheduler(ns, { queues: [{ name: 'batch', tenants: ['acme'], namespaces: ['team-a'], maxRunning: 1 }] });
  });
  afterAll(() => scheduler?.stop());

  it('500 keys × 4 concurrent submits make exactly 500 jobs; a reused key with another spec is rejected', async () => {
    const { jobs } = clients(scheduler.address);
    const spec = (i: number) => JobSpec.fromPartial({ name: `dup-${i}`, namespace: 'team-a', queue: 'batch', image: 'busybox', args: [String(i)] });
    const calls: Promise<SubmitJobResponse>[] = [];
    for (let i = 0; i < 500; i++) {
      for (let copy = 0; copy < 4; copy++) {
        // Half by idempotency key, half by name + spec hash.
        calls.push(unary(jobs, 'submitJob', { spec: spec(i), idempotencyKey: i % 2 === 0 ? `key-${i}` : '' }, tokens.acme));
      }
    }
    const responses = await Promise.all(calls);
    const ids = new Set(responses.map((r) => r.job?.jobId));
    expect(ids.size).toBe(500);
    expect(responses.filter((r) => r.created)).toHaveLength(500);
    for (let i = 0; i < 500; i++) {
      const four = responses.slice(i * 4, i * 4 + 4).map((r) => r.job?.jobId);
      expect(new Set(four).size).toBe(1);
    }

    const conflict = unary(jobs, 'submitJob', { spec: { ...spec(1), image: 'busybox:2' }, idempotencyKey: 'key-0' }, tokens.acme);
    await expect(conflict).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS, details: expect.stringContaining('different spec') });
    const badKey = unary(jobs, 'submitJob', { spec: spec(1), idempotencyKey: 'Not A Label' }, tokens.acme);
    await expect(badKey).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('idempotency_key') });

    // The changelog agrees: 500 distinct jobs, and a fresh instance restores them.
    await scheduler.stop();
    scheduler = await startScheduler(ns, { queues: [{ name: 'batch', tenants: ['acme'], namespaces: ['team-a'], maxRunning: 1 }] });
    expect(scheduler.store.size).toBe(500);
    const again = await unary<unknown, SubmitJobResponse>(clients(scheduler.address).jobs, 'submitJob', { spec: spec(7), idempotencyKey: '' }, tokens.acme);
    expect(again.created).toBe(false);
  }, 120_000);
});
