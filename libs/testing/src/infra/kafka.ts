import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess, freePort } from './managed-process';

const execFileAsync = promisify(execFile);

/** Options of {@link startKafka}. */
export interface KafkaOptions {
  /** The directory `tools/infra/install-kafka.sh` printed (holds `bin/` and `libs/`). */
  readonly installDir: string;
  /**
   * Holds `server.properties`, the log and metadata dirs (`data/`) and the logs (`logs/`).
   * A work dir that was formatted before is started as it is, with the ports it had.
   */
  readonly workDir: string;
  /** See `ManagedProcessOptions.detached`. @default false */
  readonly detached?: boolean;
}

/** One KRaft node (broker and controller in one JVM) on 127.0.0.1. */
export interface KafkaServer {
  /** Bootstrap servers: `['127.0.0.1:PORT']`. */
  readonly brokers: string[];
  /** kill()/restart()/pause() keep the ports and the data dir: acks=all records survive kill -9. */
  readonly process: ManagedProcess;
  readonly installDir: string;
  stop(): Promise<void>;
}

/** What a work dir remembers between starts; kept beside server.properties. */
interface KafkaLayout {
  readonly port: number;
  readonly controllerPort: number;
  readonly clusterId: string;
}

const LAYOUT_FILE = 'wharf-kafka.json';
const NODE_ID = 1;

/**
 * Starts a single-node Kafka (formatting `workDir` on first use) and resolves once the broker
 * serves metadata that lists itself.
 */
export async function startKafka(options: KafkaOptions): Promise<KafkaServer> {
  const { installDir, workDir, detached = false } = options;
  const dataDir = join(workDir, 'data');
  const logDir = join(workDir, 'logs');
  const configFile = join(workDir, 'server.properties');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });

  const layout = await loadOrCreateLayout(workDir, dataDir);
  writeFileSync(configFile, serverProperties(layout, dataDir));
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    await formatStorage(installDir, configFile, layout.clusterId, logDir);
  }

  const env = {
    KAFKA_HEAP_OPTS: '-Xms128m -Xmx512m',
    // C1 only: start-up takes half the CPU time, and on a shared 2-core machine the broker
    // served kafka-producer-perf-test faster than with C2 compiling in the background.
    KAFKA_OPTS: '-XX:TieredStopAtLevel=1',
    KAFKA_LOG_DIR: logDir,
  };
  const server = new ManagedProcess({
    name: 'kafka',
    command: join(installDir, 'bin', 'kafka-server'),
    args: [configFile],
    env,
    cwd: workDir,
    logFile: join(logDir, 'kafka.out'),
    ready: () => brokerServesMetadata(layout.port),
    // JVM start, log recovery after kill -9, and a CPU shared with other servers.
    readyTimeoutMs: 120_000,
    detached,
  });
  await server.start();
  return {
    brokers: [`127.0.0.1:${layout.port}`],
    process: server,
    installDir,
    stop: () => server.stop(),
  };
}

async function loadOrCreateLayout(workDir: string, dataDir: string): Promise<KafkaLayout> {
  const file = join(workDir, LAYOUT_FILE);
  // The standalone controller's endpoint is written into the metadata log at format time, so a
  // formatted work dir must keep its ports.
  if (existsSync(file) && existsSync(join(dataDir, 'meta.properties'))) {
    return JSON.parse(readFileSync(file, 'utf8')) as KafkaLayout;
  }
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const layout: KafkaLayout = { port, controllerPort, clusterId: randomClusterId() };
  writeFileSync(file, `${JSON.stringify(layout, null, 2)}\n`);
  return layout;
}

/** Like Kafka's `Uuid.randomUuid()`: 16 random bytes, base64url without padding. */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // A leading '-' would read as an option to kafka-storage (Kafka rejects those ids too).
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(layout: KafkaLayout, dataDir: string): string {
  const plaintext = `127.0.0.1:${layout.port}`;
  const controller = `127.0.0.1:${layout.controllerPort}`;
  const settings: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': NODE_ID,
    'controller.quorum.bootstrap.servers': controller,
    listeners: `PLAINTEXT://${plaintext},CONTROLLER://${controller}`,
    'advertised.listeners': `PLAINTEXT://${plaintext},CONTROLLER://${controller}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': 3,
    'auto.create.topics.enable': true,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'min.insync.replicas': 1,
    'default.replication.factor': 1,
    'group.initial.rebalance.delay.ms': 0,
    // After kill -9 the restarted broker is refused (DUPLICATE_BROKER_REGISTRATION) until its
    // old session expires: 9 s by default, 5 s here. Shorter would fence a broker starved of CPU.
    'broker.heartbeat.interval.ms': 1_000,
    'broker.session.timeout.ms': 5_000,
    // Fewer internal partitions: a single node loads them faster after every restart.
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.num.partitions': 5,
    'num.network.threads': 2,
    'num.io.threads': 4,
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join('\n')}\n`;
}

async function formatStorage(
  installDir: string,
  configFile: string,
  clusterId: string,
  logDir: string,
): Promise<void> {
  try {
    await execFileAsync(
      join(installDir, 'bin', 'kafka-storage'),
      ['format', '--config', configFile, '--cluster-id', clusterId, '--standalone'],
      { env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx256m' }, timeout: 120_000 },
    );
  } catch (error) {
    const output = error instanceof Error && 'stderr' in error ? String(error.stderr) : '';
    writeFileSync(join(logDir, 'format.err'), output);
    throw new Error(`kafka-storage format failed for ${configFile}: ${output.trim()}`, {
      cause: error,
    });
  }
}

/**
 * True when the broker answers a Metadata request (v8) listing a broker on `port`.
 * The listener accepts TCP connections before the broker processes requests, so a connect
 * alone proves nothing.
 */
export async function brokerServesMetadata(port: number, timeoutMs = 2_000): Promise<boolean> {
  const correlationId = 0x5a17;
  const clientId = Buffer.from('wharf-ready');
  const body = Buffer.alloc(4 + 1 + 1 + 1);
  body.writeInt32BE(0, 0); // topics: an empty array (no topics, only brokers)
  // allow_auto_topic_creation, include_cluster_authorized_operations,
  // include_topic_authorized_operations: all false (the zeroes alloc left)
  const header = Buffer.alloc(2 + 2 + 4 + 2);
  header.writeInt16BE(3, 0); // api key: Metadata
  header.writeInt16BE(8, 2); // api version
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + clientId.length + body.length, 0);
  const request = Buffer.concat([size, header, clientId, body]);

  const response = await roundTrip(port, request, timeoutMs);
  if (response === undefined || response.readInt32BE(0) !== correlationId) return false;
  // throttle_time_ms, then brokers: [node_id, host, port, rack]
  let offset = 4 + 4;
  const brokerCount = response.readInt32BE(offset);
  offset += 4;
  for (let i = 0; i < brokerCount; i++) {
    offset += 4; // node_id
    offset += 2 + response.readInt16BE(offset); // host
    const brokerPort = response.readInt32BE(offset);
    offset += 4;
    const rackLength = response.readInt16BE(offset);
    offset += 2 + Math.max(rackLength, 0);
    if (brokerPort === port) return true;
  }
  return false;
}

/** Sends one size-prefixed request; resolves the response payload, or undefined on failure. */
async function roundTrip(
  port: number,
  request: Buffer,
  timeoutMs: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const finish = (value: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(undefined));
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readInt32BE(0);
      if (received.length >= 4 + length) finish(received.subarray(4, 4 + length));
    });
  });
}
