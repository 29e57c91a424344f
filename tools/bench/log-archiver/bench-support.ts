/**
 * Shared pieces of the log-archiver benchmarks: a deterministic log generator, the service's
 * own configuration and composition (log-archiver-service.ts, built like main.ts does, not
 * started), the archive procedure with the service's settings wired to in-memory Kubernetes
 * ports that serve logs from files or generators (so the benchmark measures the archiver's
 * pipeline and the S3 store, not the apiserver), and a bucket helper.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ArchiveFinalizer, KubeLabels } from '@wharf/contracts';
import { createLogger, createMetricsRegistry, envName, loadConfig } from '@wharf/platform';
import type { ArchiveStore } from '../../../apps/log-archiver/src/archive/archive-store';
import { createArchiveStore } from '../../../apps/log-archiver/src/archive/archive-store-factory';
import { ObjectLayout } from '../../../apps/log-archiver/src/archive/object-layout';
import { createS3Client, S3Store, type S3StoreOptions } from '../../../apps/log-archiver/src/archive/s3-store';
import { logArchiverConfigSchema, type LogArchiverConfig } from '../../../apps/log-archiver/src/config';
import { ArchiveProcedure } from '../../../apps/log-archiver/src/controller/archive-procedure';
import { StreamSlots } from '../../../apps/log-archiver/src/controller/stream-slots';
import { composeLogArchiver, type LogArchiverParts } from '../../../apps/log-archiver/src/log-archiver-service';
import type { JobLike, PodLike } from '../../../apps/log-archiver/src/kube/kube-objects';
import type { JobsPort, ObservationSink, PodsPort, SecretsPort } from '../../../apps/log-archiver/src/kube/kube-ports';

export const SECRET = 'SECRET-TOKEN-0f3a9c1d';

/**
 * `bytes` of log lines as Buffers (as an HTTP response delivers them), cycling through 1,000
 * pre-rendered lines; every 50th line prints the secret, so redaction has work to do.
 */
export function logStream(bytes: number, seed: number): Readable {
  const lines = Array.from({ length: 1000 }, (_, line) =>
    Buffer.from(
      line % 50 === 49
        ? `2026-11-21T00:00:00.${String(line).padStart(3, '0')}Z WARN pod=${seed} token=${SECRET} retrying\n`
        : `2026-11-21T00:00:00.${String(line).padStart(3, '0')}Z INFO pod=${seed} step=${line} value=${(line * 7919) % 100003} ok\n`,
    ),
  );
  let produced = 0;
  let line = 0;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      const size = Math.min(64 * 1024, bytes - produced);
      if (size <= 0) {
        this.push(null);
        return;
      }
      const chunk = Buffer.allocUnsafe(size);
      let at = 0;
      while (at < size) {
        at += (lines[line % lines.length] as Buffer).copy(chunk, at);
        if (at <= size) line++;
      }
      produced += size;
      this.push(chunk);
    },
  });
}

export interface S3Env {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export function s3EnvFromProcess(): S3Env {
  const need = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set (run through tools/bench/log-archiver/run.sh)`);
    return v;
  };
  return {
    endpoint: need('WHARF_S3_ENDPOINT'),
    region: process.env['WHARF_S3_REGION'] ?? 'us-east-1',
    accessKeyId: need('WHARF_S3_ACCESS_KEY_ID'),
    secretAccessKey: need('WHARF_S3_SECRET_ACCESS_KEY'),
  };
}

/**
 * The service's configuration as main.ts loads it (the schema's defaults, from the environment),
 * pointed at the benchmark's S3 server and bucket. BENCH_PART_MIB / BENCH_QUEUE override the
 * part size / queue size, BENCH_SIGN_PAYLOAD=1 sets archive.s3.signPayload (off-default
 * experiments; the figures use the defaults).
 */
export function serviceConfig(env: S3Env, bucket: string): LogArchiverConfig {
  // Never contacted: the service is composed, not started (no informer, no Lease, no Kafka).
  const kubeconfig = join(tmpdir(), `la-bench-kubeconfig-${process.pid}.yaml`);
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\n' +
      'users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n',
  );
  const settings: Record<string, string> = {
    [envName('WHARF', ['logLevel'])]: 'warn',
    [envName('WHARF', ['kube', 'kubeconfig'])]: kubeconfig,
    [envName('WHARF', ['archive', 'store'])]: 's3',
    [envName('WHARF', ['archive', 's3', 'endpoint'])]: env.endpoint,
    [envName('WHARF', ['archive', 's3', 'region'])]: env.region,
    [envName('WHARF', ['archive', 's3', 'bucket'])]: bucket,
    [envName('WHARF', ['archive', 's3', 'accessKeyId'])]: env.accessKeyId,
    [envName('WHARF', ['archive', 's3', 'secretAccessKey'])]: env.secretAccessKey,
  };
  if (process.env['BENCH_PART_MIB']) settings[envName('WHARF', ['archive', 's3', 'partSizeMiB'])] = process.env['BENCH_PART_MIB'];
  if (process.env['BENCH_QUEUE']) settings[envName('WHARF', ['archive', 's3', 'queueSize'])] = process.env['BENCH_QUEUE'];
  if (process.env['BENCH_SIGN_PAYLOAD'] === '1') settings[envName('WHARF', ['archive', 's3', 'signPayload'])] = 'true';
  return loadConfig(logArchiverConfigSchema, { env: settings, argv: [] });
}

/** The service's components, composed as main.ts does (so its whole code is loaded), not started. */
export function composeService(config: LogArchiverConfig): LogArchiverParts {
  const logger = createLogger({ service: 'log-archiver', level: config.logLevel });
  return composeLogArchiver(config, { logger, registry: createMetricsRegistry('log-archiver') });
}

/** A new S3 store exactly as the service creates it from its configuration. */
export function serviceStore(config: LogArchiverConfig): S3Store {
  const store = createArchiveStore(config.archive);
  if (!(store instanceof S3Store)) throw new Error(`the configuration gave a ${store.kind} store, not S3`);
  return store;
}

/** The archive procedure with the service's settings (as composeLogArchiver wires it), over bench ports. */
export function serviceProcedure(config: LogArchiverConfig, store: ArchiveStore, ports: BenchPorts, prefix: string): ArchiveProcedure {
  return new ArchiveProcedure({
    store,
    layout: new ObjectLayout(prefix),
    jobs: ports,
    pods: ports,
    secrets: ports,
    observations: ports,
    clock: () => new Date(),
    logger: createLogger({ service: 'bench', level: 'warn' }),
    options: {
      logConcurrency: config.archive.logConcurrency,
      deleteJob: config.archiver.deleteJob,
      redact: config.archiver.redact,
      minSecretLength: config.archiver.minSecretLength,
    },
    streamSlots: new StreamSlots(config.archive.maxStreams),
  });
}

/** Client settings for the plain-SDK baseline and bucket creation. */
export function storeOptions(env: S3Env, bucket: string, overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return {
    endpoint: env.endpoint,
    region: env.region,
    bucket,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    forcePathStyle: true,
    partSizeBytes: 8 * 1024 * 1024,
    queueSize: 2,
    ...overrides,
  };
}

export async function createBucket(env: S3Env, name: string): Promise<void> {
  const client = createS3Client(storeOptions(env, name));
  await client.send(new CreateBucketCommand({ Bucket: name })).catch((error: unknown) => {
    if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw error;
  });
  client.destroy();
}

/** A finished Job of `pods` indexes, as job-launcher creates them. */
export function benchJob(jobIndex: number, pods: number): { job: JobLike; pods: PodLike[] } {
  const name = `w-bench-${jobIndex}-r1`;
  const uid = `uid-${jobIndex}`;
  const job: JobLike = {
    metadata: {
      name,
      namespace: 'bench',
      uid,
      resourceVersion: '1',
      labels: { [KubeLabels.jobId]: `bench-${jobIndex}`, [KubeLabels.run]: '1' },
      finalizers: [ArchiveFinalizer],
    },
    spec: { completionMode: 'Indexed', completions: pods, template: { spec: { containers: [{ name: 'main' }] } } },
    status: { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: new Date().toISOString() }] },
  };
  const podList: PodLike[] = Array.from({ length: pods }, (_, i) => ({
    metadata: {
      name: `${name}-${i}-abcde`,
      namespace: 'bench',
      uid: `${uid}-pod-${i}`,
      annotations: { 'batch.kubernetes.io/job-completion-index': String(i) },
    },
    spec: { containers: [{ name: 'main' }] },
    status: { phase: 'Succeeded', containerStatuses: [{ name: 'main', restartCount: 0, state: { terminated: { exitCode: 0 } } }] },
  }));
  return { job, pods: podList };
}

/** Kubernetes and Kafka ports that do nothing but serve logs. */
export class BenchPorts implements JobsPort, PodsPort, SecretsPort, ObservationSink {
  constructor(
    private readonly pods: Map<string, PodLike[]>,
    private readonly openSource: (pod: string) => Readable,
  ) {}
  async get(): Promise<JobLike | undefined> {
    return undefined;
  }
  async removeFinalizer(): Promise<'removed'> {
    return 'removed';
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
  async listForJob(_ns: string, _name: string, uid: string): Promise<PodLike[]> {
    return this.pods.get(uid) ?? [];
  }
  async openLog(_ns: string, pod: string): Promise<Readable> {
    return this.openSource(pod);
  }
  async values(): Promise<string[]> {
    // BENCH_NO_REDACTION=1 measures the pipeline without the redaction pass.
    return process.env['BENCH_NO_REDACTION'] === '1' ? [] : [SECRET];
  }
  publish(): Promise<void> {
    return Promise.resolve();
  }
}

export function fileSource(path: string): Readable {
  return createReadStream(path, { highWaterMark: 64 * 1024 });
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

export const mib = (bytes: number): number => bytes / 1024 / 1024;
