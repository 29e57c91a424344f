import * as grpc from '@grpc/grpc-js';
import { JobServiceClient, JobSpec, ListJobsRequest, type ListJobsResponse } from '@wharf/contracts';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { tokens, withToken, writeTokensFile } from './scheduler-harness';

const root = resolve(__dirname, '../../..');

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => ok(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Instance {
  readonly child: ChildProcess;
  readonly grpc: string;
  readonly ops: number;
}

async function spawnScheduler(ns: string, identity: string, tokensFile: string): Promise<Instance> {
  const grpcPort = await freePort();
  const ops = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/scheduler/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      WHARF_KAFKA_BROKERS: testInfra().kafka.brokers.join(','),
      WHARF_KUBE_KUBECONFIG: testInfra().kube.kubeconfigPath,
      WHARF_AUTH_TOKENS_FILE: tokensFile,
      WHARF_GRPC_PORT: String(grpcPort),
      WHARF_OPS_PORT: String(ops),
      WHARF_STATE_NAMESPACE: ns,
      WHARF_LEADER_ELECTION: 'lease',
      WHARF_LEADER_NAMESPACE: 'default',
      WHARF_LEADER_LEASE_NAME: ns,
      WHARF_LEADER_IDENTITY: identity,
      WHARF_LOG_LEVEL: process.env['WHARF_TEST_LOG_LEVEL'] ?? 'warn',
      WHARF_QUEUES: JSON.stringify([{ name: 'batch', tenants: ['acme'], namespaces: ['team-a'], maxRunning: 1 }]),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { child, grpc: `127.0.0.1:${grpcPort}`, ops };
}

const isReady = async (instance: Instance): Promise<boolean> => {
  try {
    return (await fetch(`http://127.0.0.1:${instance.ops}/readyz`)).ok;
  } catch {
    return false;
  }
};

describe('scheduler: kill -9 of the leader during submits (real Kafka and Kubernetes Lease)', () => {
  const ns = uniqueName('it-failover');
  const instances: Instance[] = [];
  afterAll(() => {
    for (const i of instances) i.child.kill('SIGKILL');
  });

  it('keeps every acknowledged submit, duplicates none, and the standby takes over', async () => {
    const tokensFile = writeTokensFile();
    const a = await spawnScheduler(ns, 'a', tokensFile);
    instances.push(a);
    await eventually(async () => {
      if (!(await isReady(a))) throw new Error('a not ready');
    }, { timeoutMs: 120_000, intervalMs: 200, description: 'the first scheduler to lead' });
    const b = await spawnScheduler(ns, 'b', tokensFile);
    instances.push(b);
    // b is up (live) but a standby (not ready).
    await eventually(
      async () => {
        if (!(await fetch(`http://127.0.0.1:${b.ops}/healthz`)).ok) throw new Error('b not live');
      },
      { timeoutMs: 120_000, intervalMs: 200, description: 'the standby to start' },
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await isReady(b)).toBe(false);

    const stubs = [a, b].map((i) => new JobServiceClient(i.grpc, grpc.credentials.createInsecure()));
    const submitOnce = (stub: InstanceType<typeof JobServiceClient>, key: string): Promise<void> =>
      new Promise((ok, fail) =>
        stub.submitJob(
          { spec: JobSpec.fromPartial({ name: 'failover', namespace: 'team-a', queue: 'batch', image: 'busybox', args: [key] }), idempotencyKey: key },
          withToken(tokens.acme),
          { deadline: Date.now() + 5_000 },
          (error) => (error ? fail(error) : ok()),
        ),
      );
    const acked: string[] = [];
    let killedAt = 0;
    let firstAfterKill = 0;
    const submit = async (key: string): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        for (const [i, stub] of stubs.entries()) {
          try {
            await submitOnce(stub, key);
            acked.push(key);
            // The takeover: the first submit the standby acknowledged.
            if (i === 1 && killedAt && !firstAfterKill) firstAfterKill = Date.now();
            return;
          } catch {
            // try the other instance, then again
          }
        }
        if (attempt > 600) throw new Error(`${key} never acknowledged`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const keys = Array.from({ length: 200 }, (_, i) => `${ns}-k${i}`.slice(-40));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < keys.length) {
          const key = keys[next++] as string;
          await submit(key);
          if (acked.length === 60 && !killedAt) {
            killedAt = Date.now();
            a.child.kill('SIGKILL');
          }
        }
      }),
    );
    expect(killedAt).toBeGreaterThan(0);
    expect(new Set(acked).size).toBe(200);
    const takeoverMs = firstAfterKill - killedAt;
    process.stderr.write(`\n[failover] takeover after kill -9: ${takeoverMs} ms\n`);
    expect(await isReady(b)).toBe(true);

    // Every acknowledged submit is on the new leader, once.
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await new Promise<ListJobsResponse>((ok, fail) =>
        (stubs[1] as InstanceType<typeof JobServiceClient>).listJobs(ListJobsRequest.fromPartial({ pageSize: 1_000, pageToken }), withToken(tokens.acme), (e, r) => (e ? fail(e) : ok(r))),
      );
      seen.push(...page.jobs.map((j) => j.jobId));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen.length).toBe(200);
    expect(new Set(seen)).toEqual(new Set(keys));
    for (const s of stubs) s.close();
  }, 300_000);
});
