/**
 * A single 200 MB log archived with RSS ≤ 150 MB: the log is generated on the fly (64 KiB
 * chunks), streamed through redaction and the digest into the S3 store (multipart, 8 MiB
 * parts, 2 in flight). Reports the process' peak RSS (getrusage maxrss, which includes the
 * loaded code: the whole archiver bundle) and the RSS before archiving.
 */
import { S3Store } from '../../../apps/log-archiver/src/archive/s3-store';
import { BenchPorts, benchJob, benchProcedure, createBucket, logStream, mib, s3EnvFromProcess, storeOptions } from './bench-support';

const BYTES = Number(process.env['BENCH_LOG_BYTES'] ?? 200 * 1000 * 1000);

async function main(): Promise<void> {
  const env = s3EnvFromProcess();
  const bucket = `bench-rss-${process.pid}`;
  await createBucket(env, bucket);
  const { job, pods } = benchJob(0, 1);
  const ports = new BenchPorts(new Map([[job.metadata?.uid ?? '', pods]]), () => logStream(BYTES, 1));
  const store = new S3Store(storeOptions(env, bucket));
  const procedure = benchProcedure(store, ports, 1, 'rss');
  const before = process.memoryUsage().rss;
  let peakSampled = before;
  let atPeak = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peakSampled) {
      peakSampled = m.rss;
      atPeak = m;
    }
  }, 20);
  const t0 = Date.now();
  const outcome = await procedure.run(job, { fresh: true });
  clearInterval(sampler);
  const seconds = (Date.now() - t0) / 1000;
  if (outcome.kind !== 'archived') throw new Error('not archived');
  const object = outcome.manifest.objects[0];
  const maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    `archived ${mib(object?.bytes ?? 0).toFixed(1)} MiB (${object?.lines} lines, ${object?.redactions} redactions) in ${seconds.toFixed(1)} s = ${(mib(object?.bytes ?? 0) / seconds).toFixed(1)} MiB/s\n` +
      `RSS before archiving: ${mib(before).toFixed(1)} MiB; peak sampled: ${mib(peakSampled).toFixed(1)} MiB ` +
      `(V8 heap ${mib(atPeak.heapTotal).toFixed(1)} MiB, buffers ${mib(atPeak.arrayBuffers).toFixed(1)} MiB)\n` +
      `RESULT peak RSS (maxrss): ${(maxRss / 1e6).toFixed(1)} MB = ${mib(maxRss).toFixed(1)} MiB  (goal ≤ 150 MB)\n`,
  );
  store.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
