/**
 * Archive throughput for 500 pods' logs (a mix of sizes) ÷ a plain SDK upload of the same
 * bytes, in the same run, alternating A/B rounds. Goal ≥ 0.8.
 *
 *   A (baseline): @aws-sdk/lib-storage Upload of each log file, 16 uploads in flight,
 *                 partSize 8 MiB, queueSize 2 — nothing else.
 *   B (archiver): ArchiveProcedure over 100 Jobs × 5 pods with the service's configuration
 *                 defaults (archiver.workers jobs at once, archive.maxStreams log streams, the
 *                 S3 store from the service's factory: part size, queue size…):
 *                 log stream → secret redaction → line/size/SHA-256 digest → S3Store (Upload,
 *                 MD5-ETag computed in-stream and compared with the store's) → manifest per run.
 *                 The process runs with the Deployment's runtime env (run.sh).
 *
 * Logs are served from files (page cache warm for both), isolating the archive path from the
 * apiserver, which a KWOK control plane on 2 shared cores would dominate.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client } from '../../../apps/log-archiver/src/archive/s3-store';
import type { PodLike } from '../../../apps/log-archiver/src/kube/kube-objects';
import {
  BenchPorts,
  benchJob,
  composeService,
  createBucket,
  fileSource,
  logStream,
  mib,
  pool,
  s3EnvFromProcess,
  serviceConfig,
  serviceProcedure,
  serviceStore,
  storeOptions,
} from './bench-support';

const PODS = Number(process.env['BENCH_PODS'] ?? 500);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const IN_FLIGHT = 16;

/** 60 % 8 KiB, 30 % 256 KiB, 9 % 2 MiB, 1 % 16 MiB. */
function sizeOf(i: number): number {
  const r = i % 100;
  if (r < 60) return 8 * 1024;
  if (r < 90) return 256 * 1024;
  if (r < 99) return 2 * 1024 * 1024;
  return 16 * 1024 * 1024;
}

async function main(): Promise<void> {
  const env = s3EnvFromProcess();
  const dir = join(tmpdir(), `la-bench-logs-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const jobs = Array.from({ length: PODS / 5 }, (_, j) => benchJob(j, 5));
  const files = new Map<string, string>();
  let total = 0;
  let i = 0;
  for (const { pods } of jobs) {
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      const file = join(dir, `${name}.log`);
      await pipeline(logStream(sizeOf(i++), i), createWriteStream(file));
      files.set(name, file);
      total += statSync(file).size;
    }
  }
  process.stdout.write(`logs: ${PODS} pods, ${mib(total).toFixed(1)} MiB (60% 8 KiB, 30% 256 KiB, 9% 2 MiB, 1% 16 MiB)\n`);
  const bucket = `bench-${process.pid}`;
  await createBucket(env, bucket);
  const config = serviceConfig(env, bucket);
  composeService(config); // loaded and built as in the service
  const { workers } = config.archiver;
  const { maxStreams, logConcurrency, s3 } = config.archive;
  process.stdout.write(
    `archiver settings: ${workers} jobs at once, ${maxStreams} streams, ${logConcurrency} per job, part ${s3.partSizeMiB} MiB, queue ${s3.queueSize}, ` +
      `signPayload ${s3.signPayload}; MALLOC_ARENA_MAX=${process.env['MALLOC_ARENA_MAX'] ?? '(unset)'}, NODE_OPTIONS=${process.env['NODE_OPTIONS'] ?? '(unset)'}\n`,
  );

  const results: { a: number; b: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A: plain SDK upload of the same files.
    const client = createS3Client(storeOptions(env, bucket));
    let t0 = process.hrtime.bigint();
    await pool([...files.entries()], IN_FLIGHT, async ([name, file]) => {
      await new Upload({
        client,
        params: { Bucket: bucket, Key: `sdk-${round}/${name}.log`, Body: fileSource(file) },
        partSize: 8 * 1024 * 1024,
        queueSize: 2,
      }).done();
    });
    const aSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    client.destroy();

    // B: the archiver's procedure.
    const store = serviceStore(config);
    const podsByUid = new Map<string, PodLike[]>(jobs.map(({ job, pods }) => [job.metadata?.uid ?? '', pods]));
    const ports = new BenchPorts(podsByUid, (pod) => fileSource(files.get(pod) ?? ''));
    // The service's shape: archiver.workers jobs at once, archive.logConcurrency logs each,
    // archive.maxStreams streams in total.
    const procedure = serviceProcedure(config, store, ports, `archiver-${round}`);
    t0 = process.hrtime.bigint();
    let archivedBytes = 0;
    await pool(jobs, workers, async ({ job }) => {
      const outcome = await procedure.run(job, { fresh: true });
      if (outcome.kind !== 'archived') throw new Error(`not archived: ${outcome.kind}`);
      archivedBytes += outcome.manifest.totals.bytes;
    });
    const bSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    store.destroy();

    const a = mib(total) / aSeconds;
    const b = mib(total) / bSeconds;
    results.push({ a, b });
    process.stdout.write(
      `round ${round + 1}: sdk ${a.toFixed(1)} MiB/s (${aSeconds.toFixed(2)} s) | archiver ${b.toFixed(1)} MiB/s (${bSeconds.toFixed(2)} s, ${(PODS / bSeconds).toFixed(0)} pods/s, stored ${mib(archivedBytes).toFixed(1)} MiB after redaction) | ratio ${(b / a).toFixed(2)}\n`,
    );
  }
  const sum = results.reduce((s, r) => ({ a: s.a + r.a, b: s.b + r.b }), { a: 0, b: 0 });
  process.stdout.write(`RESULT throughput ratio (archiver ÷ sdk, mean of ${ROUNDS} rounds): ${(sum.b / sum.a).toFixed(2)}  (goal ≥ 0.8)\n`);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
