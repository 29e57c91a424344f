import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInstalled } from './install';
import { startKafka, type KafkaServer } from './kafka';
import { startKube, type KubeServer } from './kube';
import { startS3, type S3Server } from './s3';
import { InfraEnv } from '../test-infra';

export interface InfraOptions {
  readonly kafka?: boolean;
  readonly kube?: boolean;
  readonly s3?: boolean;
  /** Data, certificates and logs of every server. */
  readonly workDir: string;
  /** Remove workDir on stop. @default false */
  readonly cleanup?: boolean;
  /** Progress lines ("starting kafka…"). */
  readonly log?: (line: string) => void;
}

export interface Infra {
  readonly kafka?: KafkaServer;
  readonly kube?: KubeServer;
  readonly s3?: S3Server;
  readonly workDir: string;
  /** The WHARF_* settings services and tests read to reach these servers. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the real servers a run needs — Apache Kafka (KRaft), a Kubernetes control plane with
 * KWOK nodes, an S3-compatible store — on 127.0.0.1 with free ports, building them first if the
 * cache is cold. Servers start in parallel; if one fails, the others are stopped.
 */
export async function startInfra(options: InfraOptions): Promise<Infra> {
  const { workDir, log = () => undefined } = options;
  mkdirSync(workDir, { recursive: true });
  const timed = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    log(`starting ${name}…`);
    const server = await start();
    log(`${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return server;
  };

  const started: { stop(): Promise<void> }[] = [];
  const track = <T extends { stop(): Promise<void> }>(server: T): T => {
    started.push(server);
    return server;
  };
  const results = await Promise.allSettled([
    options.kafka
      ? timed('kafka', async () => track(await startKafka({ installDir: ensureInstalled('kafka'), workDir: join(workDir, 'kafka') })))
      : undefined,
    options.kube
      ? timed('kubernetes', async () => track(await startKube({ binDir: ensureInstalled('kube'), workDir: join(workDir, 'kube') })))
      : undefined,
    options.s3
      ? timed('s3', async () => track(await startS3({ binDir: ensureInstalled('s3'), workDir: join(workDir, 's3') })))
      : undefined,
  ]);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw new AggregateError(
      failures.map((f) => f.reason),
      `infrastructure failed to start: ${failures.map((f) => (f.reason as Error).message).join('; ')}`,
    );
  }
  const [kafka, kube, s3] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    KafkaServer | undefined,
    KubeServer | undefined,
    S3Server | undefined,
  ];

  return {
    kafka,
    kube,
    s3,
    workDir,
    env() {
      const env: Record<string, string> = {};
      if (kafka) env[InfraEnv.kafkaBrokers] = kafka.brokers.join(',');
      if (kube) env[InfraEnv.kubeconfig] = kube.kubeconfigPath;
      if (s3) {
        env[InfraEnv.s3Endpoint] = s3.endpoint;
        env[InfraEnv.s3Region] = s3.region;
        env[InfraEnv.s3AccessKeyId] = s3.accessKeyId;
        env[InfraEnv.s3SecretAccessKey] = s3.secretAccessKey;
      }
      return env;
    },
    async stop() {
      await Promise.allSettled([kafka?.stop(), kube?.stop(), s3?.stop()]);
      if (options.cleanup) rmSync(workDir, { recursive: true, force: true });
    },
  };
}
