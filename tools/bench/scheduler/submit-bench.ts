/**
 * SubmitJob over gRPC, durable in the real Kafka: C concurrent clients for D seconds against a
 * bundled scheduler process. Prints throughput, p50/p99 latency and the scheduler's RSS.
 *
 *   node tools/build/bundle.mjs apps/scheduler
 *   eval "$(bash tools/run.sh stack env)"
 *   npx tsx tools/bench/scheduler/submit-bench.ts [--clients 64] [--seconds 20] [--rate 2000] [--warmup 5]
 *     [--client grpc-js|h2|ghz] [--timeline <file>]
 *
 * Without --rate each client sends its next submit as soon as the last one is answered: the
 * most the scheduler takes, and latency = clients ÷ throughput. With --rate R the C clients
 * share R submits/s: client c sends its k-th submit at start + (k·C + c)/R s, or at once when it
 * is behind, so the figure is the latency at a sustained R/s (throughput below R means the
 * scheduler could not keep up).
 *
 * --client grpc-js (default) sends through @grpc/grpc-js, as a Node service would. --client h2
 * sends the same SubmitJob calls as plain HTTP/2 gRPC requests (node:http2, the request
 * encoded once per call, the answer's grpc-status checked): a lean load generator, like Go's
 * ghz, whose own garbage collection stalls the calls it times less. At 2,000/s the grpc-js
 * client process promoted ~15 KB per call and paused 17-27 ms every ~0.45 s (scavenges).
 *
 * --client ghz runs Go's ghz (tools/infra/install-ghz.sh builds it) as the C clients instead;
 * it needs --rate.
 *
 * --warmup S (default 5): S seconds at the same pace before the measured ones, reported on their
 * own (`warmup`): the first seconds after start are slower (JIT, the heap growing).
 *
 * --timeline <file>: each measured call's send time and latency and this process's GC pauses,
 * as JSON, for timeline-report.ts (with timeline-probe.cjs preloaded into the scheduler).
 *
 * The run's topics (<namespace>.*) are deleted at the end: the stack's broker keeps its data,
 * and left-over topics slow every later run.
 *
 * WHARF_BENCH_NODE_FLAGS="--trace-gc" puts node flags on the scheduler's command line.
 */
import * as grpc from '@grpc/grpc-js';
import { JobServiceClient, JobServiceService, JobSpec, SubmitJobRequest, type SubmitJobResponse } from '@wharf/contracts';
import * as http2 from 'node:http2';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { deleteNamespaceTopics, gcKindName, percentile, root, startSchedulerProcess, token } from './bench-support';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const clients = arg('clients', 64);
  const seconds = arg('seconds', 20);
  const channels = arg('channels', 4);
  const rate = arg('rate', 0);
  const warmupSeconds = arg('warmup', 5);
  const clientIndex = process.argv.indexOf('--client');
  const clientKind = clientIndex >= 0 ? process.argv[clientIndex + 1] : 'grpc-js';
  if (clientKind !== 'grpc-js' && clientKind !== 'h2' && clientKind !== 'ghz') throw new Error(`--client ${clientKind}: expected grpc-js, h2 or ghz`);
  const timelineIndex = process.argv.indexOf('--timeline');
  const timelineFile = timelineIndex >= 0 ? process.argv[timelineIndex + 1] : undefined;
  if (timelineIndex >= 0 && !timelineFile) throw new Error('--timeline needs a file to write');
  const ns = `bench-${randomBytes(3).toString('hex')}`;
  const scheduler = await startSchedulerProcess(ns);
  try {
    const readyMs = await scheduler.ready();
    if (clientKind === 'ghz') {
      const result = await ghzRun({ port: scheduler.grpcPort, ns, clients, channels, rate, seconds, warmupSeconds });
      const memory = scheduler.memory();
      console.log(JSON.stringify({ ...result, schedulerPeakRssMiB: memory.peakMiB, schedulerRssMiB: memory.rssMiB, startToReadyMs: readyMs }));
      return;
    }
    const client = clientKind === 'h2' ? h2Client(scheduler.grpcPort, channels) : grpcJsClient(scheduler.grpcPort, channels);
    let n = 0;
    const submit = (i: number): Promise<number> => {
      const spec = JobSpec.fromPartial({ name: 'bench', namespace: 'bench', queue: `q${i % 9}`, image: 'busybox:1.36', args: [String(i)], items: ['a', 'b'], parallelism: 2 });
      const started = performance.now();
      return client.submit(i, { spec, idempotencyKey: `${ns}-${i}` }).then(() => performance.now() - started);
    };
    // Connections, topic metadata.
    await Promise.all(Array.from({ length: 200 }, () => submit(n++)));
    const timeline = timelineFile ? { file: timelineFile, sentAt: new Samples(), latency: new Samples(), gcs: [] as Array<[number, number, string]> } : undefined;
    const gcObserver = timeline ? new PerformanceObserver((list) => list.getEntries().forEach((e) => timeline.gcs.push([performance.timeOrigin + e.startTime, e.duration, gcKindName((e.detail as { kind?: number } | undefined)?.kind)]))) : undefined;
    gcObserver?.observe({ entryTypes: ['gc'] });
    const slotMs = rate > 0 ? 1000 / rate : 0;
    /** C clients for `phaseSeconds`, paced by --rate; returns the sorted latencies, the error count and the elapsed seconds. */
    const phase = async (phaseSeconds: number) => {
      const latencies = new Samples();
      let errors = 0;
      const end = Date.now() + phaseSeconds * 1000;
      const startedAt = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          for (let k = 0; Date.now() < end; k++) {
            if (slotMs > 0) {
              const due = startedAt + (k * clients + c) * slotMs - performance.now();
              if (due > 0) await new Promise((r) => setTimeout(r, due));
              if (Date.now() >= end) break;
            }
            try {
              const latency = await submit(n++);
              latencies.push(latency);
              if (timeline) {
                timeline.sentAt.push(performance.timeOrigin + performance.now() - latency);
                timeline.latency.push(latency);
              }
            } catch {
              errors++;
            }
          }
        }),
      );
      return { latencies: latencies.sorted(), errors, elapsed: (performance.now() - startedAt) / 1000 };
    };
    // Warm-up at the measured pace (JIT, heap sizes, the broker's JIT): its calls are not counted.
    const warm = warmupSeconds > 0 ? await phase(warmupSeconds) : undefined;
    if (timeline) {
      timeline.sentAt = new Samples();
      timeline.latency = new Samples();
    }
    const { latencies, errors, elapsed } = await phase(seconds);
    const memory = scheduler.memory();
    const result = {
      client: clientKind,
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
      ...(warm ? { warmup: { seconds: warmupSeconds, submits: warm.latencies.length, errors: warm.errors, p50Ms: Number(percentile(warm.latencies, 50).toFixed(1)), p99Ms: Number(percentile(warm.latencies, 99).toFixed(1)) } } : {}),
    };
    console.log(JSON.stringify(result));
    gcObserver?.disconnect();
    if (timeline) {
      const sentAt = timeline.sentAt.values();
      const latency = timeline.latency.values();
      const calls = Array.from(sentAt, (at, i) => [Number(at.toFixed(1)), Number((latency[i] ?? 0).toFixed(2))]);
      writeFileSync(timeline.file, JSON.stringify({ calls, gcs: timeline.gcs }));
    }
    client.close();
  } finally {
    const exited = new Promise((r) => scheduler.child.once('exit', r));
    scheduler.child.kill('SIGTERM');
    await exited;
    await deleteNamespaceTopics(ns);
  }
}

/**
 * Latency samples in a growing Float64Array: hundreds of thousands of boxed numbers in an array
 * made the load generator's own GC pause it for 20-70 ms in a 2-minute run, stalling the calls it
 * was timing.
 */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
  sorted(): Float64Array {
    return this.values().slice().sort();
  }
}

interface SubmitClient {
  submit(i: number, request: SubmitJobRequest): Promise<void>;
  close(): void;
}

function grpcJsClient(port: number, channels: number): SubmitClient {
  const stubs = Array.from({ length: channels }, () => new JobServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return {
    submit: (i, request) =>
      new Promise((ok, fail) => {
        (stubs[i % channels] as InstanceType<typeof JobServiceClient>).submitJob(request, metadata, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, _r: SubmitJobResponse) =>
          error ? fail(error) : ok(),
        );
      }),
    close: () => stubs.forEach((s) => s.close()),
  };
}

/** SubmitJob as plain HTTP/2 gRPC: one length-prefixed message out, grpc-status 0 expected back. */
function h2Client(port: number, channels: number): SubmitClient {
  const sessions = Array.from({ length: channels }, () => http2.connect(`http://127.0.0.1:${port}`));
  const headers = {
    ':method': 'POST',
    ':path': JobServiceService.submitJob.path,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-timeout': '10S',
    authorization: `Bearer ${token}`,
  };
  return {
    submit: (i, request) =>
      new Promise((ok, fail) => {
        const body = SubmitJobRequest.encode(request).finish();
        const frame = Buffer.allocUnsafe(5 + body.length);
        frame[0] = 0; // not compressed
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        let status: string | undefined;
        let message = '';
        const onHeaders = (h: http2.IncomingHttpHeaders) => {
          if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
          if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
        };
        const stream = (sessions[i % channels] as http2.ClientHttp2Session).request(headers);
        stream.on('response', onHeaders); // a trailers-only answer (an error) has its status here
        stream.on('trailers', onHeaders);
        stream.on('data', () => undefined); // the SubmitJobResponse: read and dropped
        stream.on('error', fail);
        stream.on('close', () => (status === '0' ? ok() : fail(new Error(`grpc-status ${status ?? 'missing'}: ${message}`))));
        stream.end(frame);
      }),
    close: () => sessions.forEach((s) => s.close()),
  };
}

/**
 * Go's ghz as the load generator (built by tools/infra/install-ghz.sh): `--rps` spreads the rate
 * over the clients, `--skipFirst` leaves the warm-up's calls out of its figures. The latencies are
 * read from its per-call details.
 */
async function ghzRun(o: { port: number; ns: string; clients: number; channels: number; rate: number; seconds: number; warmupSeconds: number }) {
  if (o.rate <= 0) throw new Error('--client ghz needs --rate');
  const bin = join(execFileSync('bash', [join(root, 'tools/infra/install-ghz.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim(), 'ghz');
  const skip = Math.round(o.warmupSeconds * o.rate);
  const total = skip + Math.round(o.seconds * o.rate);
  const data = { spec: { name: 'bench', namespace: 'bench', queue: 'q{{mod .RequestNumber 9}}', image: 'busybox:1.36', args: ['{{.RequestNumber}}'], items: ['a', 'b'], parallelism: 2 }, idempotencyKey: `${o.ns}-{{.RequestNumber}}` };
  const args = ['--insecure', '--proto', join(root, 'libs/contracts/proto/wharf/v1/jobs.proto'), '--import-paths', join(root, 'libs/contracts/proto'), '--call', 'wharf.v1.JobService.SubmitJob'];
  args.push('--metadata', JSON.stringify({ authorization: `Bearer ${token}` }), '--data', JSON.stringify(data), '--rps', String(o.rate), '--concurrency', String(o.clients), '--connections', String(o.channels));
  args.push('--total', String(total), '--skipFirst', String(skip), '--timeout', '10s', '--format', 'json', `127.0.0.1:${o.port}`);
  const out = await new Promise<string>((ok, fail) => execFile(bin, args, { maxBuffer: 1 << 30 }, (error, stdout) => (error && !stdout ? fail(error) : ok(stdout))));
  const report = JSON.parse(out) as { details: Array<{ timestamp: string; latency: number; status: string }> };
  const latencies = report.details.filter((d) => d.status === 'OK').map((d) => d.latency / 1e6).sort((a, b) => a - b);
  let first = Infinity;
  let last = -Infinity;
  for (const d of report.details) {
    const sent = Date.parse(d.timestamp);
    first = Math.min(first, sent);
    last = Math.max(last, sent);
  }
  const elapsed = (last - first) / 1000;
  return {
    client: 'ghz',
    clients: o.clients,
    rate: o.rate,
    seconds: Number(elapsed.toFixed(1)),
    submits: latencies.length,
    errors: report.details.length - latencies.length,
    perSecond: Math.round(report.details.length / elapsed),
    p50Ms: Number(percentile(latencies, 50).toFixed(1)),
    p99Ms: Number(percentile(latencies, 99).toFixed(1)),
    maxMs: Number((latencies[latencies.length - 1] ?? 0).toFixed(1)),
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
