import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { Readable } from 'node:stream';
import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  Wait,
  type StartedTestContainer,
} from 'testcontainers';
import { InfraEnv } from '../test-infra';

/**
 * Where testcontainers looks for published ports (its wait strategies, `getHost()`): this
 * machine's loopback, where they are bound (see LoopbackContainer). Left alone, testcontainers
 * running inside a container (it checks /.dockerenv) uses the bridge gateway (172.17.0.1), where
 * nothing listens, so every port or HTTP wait times out. Set before the first runtime client is
 * made, which caches the host.
 */
process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';

/** Label on every container the harness starts, so a cleanup can find leftovers. */
export const ContainerRoleLabel = 'dev.wharf.role';

/**
 * A GenericContainer whose published ports bind to 127.0.0.1 only, whatever the engine's
 * default (`dockerd --ip`): tests never listen on other interfaces.
 */
export class LoopbackContainer extends GenericContainer {
  protected override async beforeContainerCreated(): Promise<void> {
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {})) {
      for (const binding of bindings as { HostIp?: string }[]) binding.HostIp = '127.0.0.1';
    }
  }
}

/**
 * The testcontainers provider of the test harness: Kafka and the S3 store as containers on the
 * local Docker engine, from images built locally (tools/images/build.sh kafka versitygw) —
 * never pulled. The same WHARF_* settings as the process provider come out of `env()`, so tests
 * cannot tell the two apart.
 */
export const ContainerImages = {
  kafka: process.env['WHARF_KAFKA_IMAGE'] ?? 'wharf/kafka:4.4.0',
  s3: process.env['WHARF_S3_IMAGE'] ?? 'wharf/versitygw:v1.8.0',
} as const;

export interface ContainerInfraOptions {
  readonly kafka?: boolean;
  readonly s3?: boolean;
  readonly log?: (line: string) => void;
}

export interface ContainerInfra {
  readonly kafka?: { readonly brokers: string[]; readonly container: StartedTestContainer };
  readonly s3?: {
    readonly endpoint: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly container: StartedTestContainer;
  };
  env(): Record<string, string>;
  stop(): Promise<void>;
}

/** Why no Docker engine can be used, or undefined when one answers. */
export async function dockerUnavailableReason(): Promise<string | undefined> {
  try {
    const client = await getContainerRuntimeClient();
    await client.info;
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Starts the container; if it fails to start or to become ready, the error carries the last
 * lines the container printed (testcontainers shows them only with DEBUG=testcontainers*).
 */
async function startWithLogTail(
  name: string,
  container: GenericContainer,
  keep = 40,
): Promise<StartedTestContainer> {
  const tail: string[] = [];
  let partial = '';
  let logs: Readable | undefined;
  container.withLogConsumer((stream) => {
    logs = stream;
    stream.on('error', () => undefined);
    stream.on('data', (chunk: Buffer | string) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      tail.push(...lines);
      if (tail.length > keep) tail.splice(0, tail.length - keep);
    });
  });
  try {
    return await container.start();
  } catch (error) {
    const lines = [...tail, ...(partial ? [partial] : [])].join('\n  ');
    (error as Error).message =
      `${name}: ${(error as Error).message}` +
      (lines ? `\n  last lines of the ${name} container:\n  ${lines}` : ' (it printed nothing)');
    throw error;
  } finally {
    logs?.destroy();
  }
}

/** Thrown when an image is not in the local engine: the provider never pulls. */
async function requireLocalImage(image: string, target: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  if (!(await client.image.exists(ImageName.fromString(image)))) {
    throw new Error(
      `image ${image} is not in the local Docker engine: build it with \`bash tools/images/build.sh ${target}\``,
    );
  }
}

/** A port that is free on 127.0.0.1 now (for a fixed host binding Kafka can advertise). */
async function freeHostPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Like Kafka's `Uuid.randomUuid()`: 16 random bytes, base64url without padding, never starting
 * with '-' — the image's `kafka-storage format --cluster-id <id>` would read that as an option,
 * fail, and the container would exit before logging "Kafka Server started" (1 start in 64).
 */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function startKafkaContainer(): Promise<{
  brokers: string[];
  container: StartedTestContainer;
}> {
  await requireLocalImage(ContainerImages.kafka, 'kafka');
  // Clients outside the container must be told the published port, so it is chosen first.
  const hostPort = await freeHostPort();
  const container = await startWithLogTail(
    'kafka',
    new LoopbackContainer(ContainerImages.kafka)
      .withExposedPorts({ container: 9092, host: hostPort })
      .withEnvironment({
        KAFKA_ADVERTISED_HOST: '127.0.0.1',
        KAFKA_ADVERTISED_PORT: String(hostPort),
        KAFKA_CLUSTER_ID: randomClusterId(),
        KAFKA_HEAP_OPTS: '-Xms128m -Xmx512m',
      })
      // The data dir in memory: fast, and gone with the container.
      .withTmpFs({ '/var/lib/kafka': 'rw,size=1g,uid=10001,gid=10001' })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      // JVM start and storage format on a busy 2-core CI machine: up to ~2 minutes seen.
      .withStartupTimeout(240_000)
      .withLabels({ [ContainerRoleLabel]: 'test-kafka' }),
  );
  return { brokers: [`127.0.0.1:${hostPort}`], container };
}

async function startS3Container(): Promise<NonNullable<ContainerInfra['s3']>> {
  await requireLocalImage(ContainerImages.s3, 'versitygw');
  const accessKeyId = `WHARF${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  const container = await startWithLogTail(
    's3',
    new LoopbackContainer(ContainerImages.s3)
      .withExposedPorts(7070)
      .withEnvironment({ ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey })
      .withCommand([
        '--port',
        ':7070',
        '--region',
        'us-east-1',
        '--health',
        '/health',
        '--quiet',
        'posix',
        '/data',
      ])
      // Polled at 127.0.0.1:<published port> (TESTCONTAINERS_HOST_OVERRIDE above). versitygw is
      // up in about a second; the margin is for a busy 2-core CI machine.
      .withWaitStrategy(Wait.forHttp('/health', 7070))
      .withStartupTimeout(60_000)
      .withLabels({ [ContainerRoleLabel]: 'test-s3' }),
  );
  return {
    endpoint: `http://127.0.0.1:${container.getMappedPort(7070)}`,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    container,
  };
}

/**
 * Starts the requested servers as containers, in parallel; if one fails the others are stopped.
 * Ryuk (the reaper container) would have to be pulled, so it is disabled and stop() removes
 * the containers instead.
 */
export async function startContainerInfra(options: ContainerInfraOptions): Promise<ContainerInfra> {
  const log = options.log ?? (() => undefined);
  const timed = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    log(`starting ${name} (container)…`);
    const server = await start();
    log(`${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return server;
  };
  const results = await Promise.allSettled([
    options.kafka ? timed('kafka', startKafkaContainer) : undefined,
    options.s3 ? timed('s3', startS3Container) : undefined,
  ]);
  const started: StartedTestContainer[] = [];
  for (const r of results) if (r.status === 'fulfilled' && r.value) started.push(r.value.container);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    await Promise.allSettled(started.map((c) => c.stop()));
    throw new AggregateError(
      failures.map((f) => f.reason),
      `containers failed to start: ${failures.map((f) => (f.reason as Error).message).join('; ')}`,
    );
  }
  const kafka =
    results[0]?.status === 'fulfilled' ? (results[0].value as ContainerInfra['kafka']) : undefined;
  const s3 =
    results[1]?.status === 'fulfilled' ? (results[1].value as ContainerInfra['s3']) : undefined;
  return {
    kafka,
    s3,
    env() {
      const env: Record<string, string> = {};
      if (kafka) env[InfraEnv.kafkaBrokers] = kafka.brokers.join(',');
      if (s3) {
        env[InfraEnv.s3Endpoint] = s3.endpoint;
        env[InfraEnv.s3Region] = s3.region;
        env[InfraEnv.s3AccessKeyId] = s3.accessKeyId;
        env[InfraEnv.s3SecretAccessKey] = s3.secretAccessKey;
      }
      return env;
    },
    async stop() {
      await Promise.allSettled(started.map((c) => c.stop({ timeout: 10_000 })));
    },
  };
}
