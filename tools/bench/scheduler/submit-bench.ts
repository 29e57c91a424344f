/**
 * SubmitJob over gRPC, durable in the real Kafka: C concurrent clients for D seconds against a
 * bundled scheduler process. Prints throughput, p50/p99 latency and the scheduler's RSS.
 *
 *   node tools/build/bundle.mjs apps/scheduler
 *   eval "$(bash tools/run.sh stack env)"
 *   npx tsx tools/bench/scheduler/submit-bench.ts [--clients 64] [--seconds 20] [--rate 2000]
 *
 * Without --rate each client sends its next submit as soon as the last one is answered: the
 * most the scheduler takes, and latency = clients ÷ throughput. With --rate R the C clients
 * share R submits/s: client c sends its k-th submit at start + (k·C + c)/R s, or at once when it
 * is behind, so the figure is the latency at a sustained R/s (throughput below R means the
 * scheduler could not keep up).
 */
import * as grpc from '@grpc/grpc-js';
import { JobServiceClient, JobSpec, type SubmitJobResponse } from '@wharf/contracts';
import { randomBytes } from 'node:crypto';
import { percentile, startSchedulerProcess, token } from './bench-support';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const clients = arg('clients', 64);
  const seconds = arg('seconds', 20);
  const channels = arg('channels', 4);
  const rate = arg('rate', 0);
  const ns = `bench-${randomBytes(3).toString('hex')}`;
  const scheduler = await startSchedulerProcess(ns);
  try {
    const readyMs = await scheduler.ready();
    const stubs = Array.from({ length: channels }, () => new JobServiceClient(`127.0.0.1:${scheduler.grpcPort}`, grpc.credentials.createInsecure()));
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    let n = 0;
    const submit = (i: number): Promise<number> =>
      new Promise((ok, fail) => {
        const spec = JobSpec.fromPartial({ name: 'bench', namespace: 'bench', queue: `q${i % 9}`, image: 'busybox:1.36', args: [String(i)], items: ['a', 'b'], parallelism: 2 });
        const started = performance.now();
        (stubs[i % channels] as InstanceType<typeof JobServiceClient>).submitJob(
          { spec, idempotencyKey: `${ns}-${i}` },
          metadata,
          { deadline: Date.now() + 10_000 },
          (error: grpc.ServiceError | null, _r: SubmitJobResponse) => (error ? fail(error) : ok(performance.now() - started)),
        );
      });
    // Warm-up: connections, JIT, topic metadata.
    await Promise.all(Array.from({ length: 200 }, () => submit(n++)));
    const latencies: number[] = [];
    let errors = 0;
    const end = Date.now() + seconds * 1000;
    const startedAt = performance.now();
    const slotMs = rate > 0 ? 1000 / rate : 0;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let k = 0; Date.now() < end; k++) {
          if (slotMs > 0) {
            const due = startedAt + (k * clients + c) * slotMs - performance.now();
            if (due > 0) await new Promise((r) => setTimeout(r, due));
            if (Date.now() >= end) break;
          }
          try {
            latencies.push(await submit(n++));
          } catch {
            errors++;
          }
        }
      }),
    );
    const elapsed = (performance.now() - startedAt) / 1000;
    latencies.sort((a, b) => a - b);
    const memory = scheduler.memory();
    const result = {
      clients,
      ...(rate > 0 ? { rate } : {}),
      seconds: Number(elapsed.toFixed(1)),
      submits: latencies.length,
      errors,
      perSecond: Math.round(latencies.length / elapsed),
      p50Ms: Number(percentile(latencies, 50).toFixed(1)),
      p99Ms: Number(percentile(latencies, 99).toFixed(1)),
      maxMs: Number((latencies[latencies.length - 1] ?? 0).toFixed(1)),
      schedulerPeakRssMiB: memory.peakMiB,
      schedulerRssMiB: memory.rssMiB,
      startToReadyMs: readyMs,
    };
    console.log(JSON.stringify(result));
    for (const s of stubs) s.close();
  } finally {
    scheduler.child.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
