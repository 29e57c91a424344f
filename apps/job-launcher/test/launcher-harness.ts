import { CoreV1Api, KubeConfig, BatchV1Api, type V1Job, type V1Pod } from '@kubernetes/client-node';
import {
  ContentTypes,
  decodeMessage,
  encodeMessage,
  LaunchCommand,
  Observation,
  RecordHeaders,
  type ContentType,
} from '@wharf/contracts';
import { createLogger, loadConfig, type Component, type Logger } from '@wharf/platform';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Writable } from 'node:stream';
import { jobLauncherConfigSchema, type JobLauncherConfig } from '../src/config';
import { composeJobLauncher, type JobLauncherParts } from '../src/job-launcher-service';

/** Names unique to one test: namespace, topics, group. */
export interface TestNames {
  readonly namespace: string;
  readonly launchTopic: string;
  readonly observationsTopic: string;
  readonly groupId: string;
}

export function testNames(prefix: string): TestNames {
  const id = uniqueName(prefix);
  return {
    namespace: id,
    launchTopic: `${id}.launch`,
    observationsTopic: `${id}.observations`,
    groupId: `${id}.launcher`,
  };
}

/** The settings a test launcher runs with, as the WHARF_* environment the bundled one reads. */
export function launcherEnv(names: TestNames, extra: Record<string, string> = {}): Record<string, string> {
  const infra = testInfra();
  return {
    WHARF_KAFKA_BROKERS: infra.kafka.brokers.join(','),
    WHARF_KUBE_KUBECONFIG: infra.kube.kubeconfigPath,
    WHARF_POLICY_NAMESPACES: names.namespace,
    WHARF_LAUNCHER_LAUNCH_TOPIC: names.launchTopic,
    WHARF_LAUNCHER_OBSERVATIONS_TOPIC: names.observationsTopic,
    WHARF_LAUNCHER_GROUP_ID: names.groupId,
    WHARF_LAUNCHER_TOPIC_PARTITIONS: '3',
    WHARF_OPS_PORT: '0',
    WHARF_KUBE_QPS: '200',
    WHARF_KUBE_BURST: '400',
    // The broker's minimum: a killed launcher's partitions move within seconds.
    WHARF_LAUNCHER_SESSION_TIMEOUT_MS: '6000',
    WHARF_LAUNCHER_HEARTBEAT_INTERVAL_MS: '1000',
    WHARF_LAUNCHER_REBALANCE_TIMEOUT_MS: '10000',
    ...extra,
  };
}

export function launcherConfig(names: TestNames, extra: Record<string, string> = {}): JobLauncherConfig {
  return loadConfig(jobLauncherConfigSchema, { env: launcherEnv(names, extra), argv: [] }) as JobLauncherConfig;
}

/** Log lines captured from an in-process launcher (for the secret canary). */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger = createLogger({
    service: 'job-launcher',
    level: 'debug',
    destination: new Writable({
      write: (chunk, _encoding, done) => {
        this.lines.push(String(chunk));
        done();
      },
    }),
  });
}

/** job-launcher's real components, started in-process in their production order. */
export async function startLauncher(config: JobLauncherConfig, logger: Logger): Promise<JobLauncherParts & { stop(): Promise<void> }> {
  const parts = composeJobLauncher(config, { logger });
  const started: Component[] = [];
  for (const component of parts.components) {
    await component.start?.();
    started.push(component);
  }
  await eventually(() => expect(parts.components.every((c) => c.ready?.() ?? true)).toBe(true), {
    timeoutMs: 60_000,
    description: 'the launcher to be ready',
  });
  return {
    ...parts,
    stop: async () => {
      for (const component of started.reverse()) await component.stop?.();
    },
  };
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testInfra().kube.kubeconfigPath);
  return kc;
}

export class KubeProbe {
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
  constructor(readonly kc: KubeConfig = kubeConfig()) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  async createNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
  }

  async jobs(namespace: string): Promise<V1Job[]> {
    return (await this.batch.listNamespacedJob({ namespace })).items;
  }

  async pods(namespace: string, labelSelector?: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
  }

  async managedJobsEverywhere(): Promise<V1Job[]> {
    return (await this.batch.listJobForAllNamespaces({ labelSelector: 'app.kubernetes.io/managed-by=wharf' })).items;
  }

  /** What log-archiver does once it has the logs: release the finalizer. */
  async releaseFinalizer(namespace: string, name: string): Promise<void> {
    const job = await this.batch.readNamespacedJob({ namespace, name });
    const finalizers = (job.metadata?.finalizers ?? []).filter((f) => f !== 'wharf.dev/archive-logs');
    await this.batch.replaceNamespacedJob({ namespace, name, body: { ...job, metadata: { ...job.metadata, finalizers } } });
  }
}

export function kafka(): Kafka {
  return new Kafka({ clientId: uniqueName('test'), brokers: testInfra().kafka.brokers, logLevel: logLevel.NOTHING });
}

/** Sends LaunchCommands the way the scheduler does (key: job id). */
export class CommandSender {
  private readonly producer: Producer;
  constructor(private readonly topic: string, client: Kafka = kafka()) {
    this.producer = client.producer({ allowAutoTopicCreation: true });
  }
  async start(): Promise<void> {
    await this.producer.connect();
  }
  async send(commands: LaunchCommand[], contentType: ContentType = ContentTypes.protobuf): Promise<void> {
    for (let i = 0; i < commands.length; i += 500) {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: commands.slice(i, i + 500).map((command) => ({
          key: command.launch?.jobId ?? command.cancel?.jobId ?? 'none',
          value: encodeMessage(LaunchCommand, command, contentType),
          headers: { [RecordHeaders.contentType]: contentType },
        })),
      });
    }
  }
  /** Raw JSON, for commands the generated types cannot express (hostile fields). */
  async sendJson(key: string, values: unknown[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: values.map((value) => ({
        key,
        value: Buffer.from(JSON.stringify(value)),
        headers: { [RecordHeaders.contentType]: ContentTypes.json },
      })),
    });
  }
  async stop(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** Reads a topic from the beginning in the background. */
export class TopicTap<T> {
  readonly records: { key: string; value: T; headers: Record<string, string> }[] = [];
  private consumer: Consumer | undefined;
  constructor(
    private readonly topic: string,
    private readonly decode: (value: Buffer) => T,
    private readonly client: Kafka = kafka(),
  ) {}

  async start(): Promise<void> {
    const admin = this.client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: this.topic, numPartitions: 3 }] }).catch(() => false);
    await admin.disconnect();
    this.consumer = this.client.consumer({ groupId: uniqueName('tap'), allowAutoTopicCreation: false });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
        this.records.push({ key: String(message.key), value: this.decode(message.value ?? Buffer.alloc(0)), headers });
      },
    });
  }

  values(): T[] {
    return this.records.map((r) => r.value);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export function observationTap(topic: string): TopicTap<Observation> {
  return new TopicTap(topic, (value) => decodeMessage(Observation, 'Observation', value, ContentTypes.protobuf));
}

export function rawTap(topic: string): TopicTap<string> {
  return new TopicTap(topic, (value) => value.toString('utf8'));
}

/** The facts seen for one run, by kind. */
export function factsOf(observations: readonly Observation[], jobId: string, run = 1) {
  const mine = observations.filter((o) => o.jobId === jobId && o.run === run);
  return {
    all: mine,
    created: mine.filter((o) => o.created),
    started: mine.filter((o) => o.started),
    indexes: mine.filter((o) => o.index).map((o) => o.index?.result),
    finished: mine.find((o) => o.finished)?.finished,
    cancelled: mine.find((o) => o.cancelled)?.cancelled,
    rejected: mine.find((o) => o.rejected)?.rejected,
  };
}
