/**
 * A single 200 MB log archived with RSS ≤ 150 MB: the log is generated on the fly (64 KiB
 * chunks), streamed through redaction and the digest into the S3 store, with the service's
 * defaults (config schema: part size, queue size; runtime: run.sh starts this process with the
 * Deployment's deploy/base/log-archiver/node-runtime.env and the service's bundle options).
 * The whole service is composed first as main.ts does (client-node, kafkajs, the AWS SDK…
 * loaded and its components built, not started), so the figure includes the real code.
 * Reports the process' peak RSS (getrusage maxrss) and the RSS before archiving.
 */
import { BenchPorts, benchJob, composeService, createBucket, logStream, mib, s3EnvFromProcess, serviceConfig, serviceProcedure } from './bench-support';

const BYTES = Number(process.env['BENCH_LOG_BYTES'] ?? 200 * 1000 * 1000);

async function main(): Promise<void> {
  const env = s3EnvFromProcess();
  const bucket = `bench-rss-${process.pid}`;
  await createBucket(env, bucket);
  const config = serviceConfig(env, bucket);
  const service = composeService(config);
  const store = service.store;
  if (store.kind !== 's3') throw new Error('not an S3 store');
  const { job, pods } = benchJob(0, 1);
  const ports = new BenchPorts(new Map([[job.metadata?.uid ?? '', pods]]), () => logStream(BYTES, 1));
  const procedure = serviceProcedure(config, store, ports, 'rss');
  const { partSizeMiB, queueSize } = config.archive.s3;
  process.stdout.write(
    `settings: part ${partSizeMiB} MiB, queue ${queueSize}; MALLOC_ARENA_MAX=${process.env['MALLOC_ARENA_MAX'] ?? '(unset)'}, ` +
      `NODE_OPTIONS=${process.env['NODE_OPTIONS'] ?? '(unset)'}, execArgv=${process.execArgv.join(' ') || '(none)'}\n`,
  );
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
  (store as { destroy?: () => void }).destroy?.();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
