/**
 * Runs a scheduler in-process against the real Kafka (and Kubernetes) of the integration run,
 * isolated by a unique topic namespace, with typed promise clients and Kafka helpers.
 */
import * as grpc from '@grpc/grpc-js';
import {
  JobServiceClient,
  LaunchCommand,
  Observation,
  QueueServiceClient,
  Topics,
  decodeMessage,
  contentTypeOf,
  encodeMessage,
  type JobEvent,
  type WatchJobResponse,
} from '@wharf/contracts';
import { createLogger, Lifecycle } from '@wharf/platform';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schedulerConfigSchema, type SchedulerConfig } from '../src/config';
import { buildScheduler, type Scheduler } from '../src/scheduler-setup';

export const tokens = {
  acme: 'acme-token-0123456789abcdef',
  globex: 'globex-token-0123456789abcdef',
} as const;

export function writeTokensFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-sched-'));
  const file = join(dir, 'tokens.yaml');
  writeFileSync(
    file,
    `tenants:\n  - name: acme\n    tokens: ["${tokens.acme}"]\n  - name: globex\n    tokens: ["${tokens.globex}"]\n`,
  );
  return file;
}

export type ConfigInput = Record<string, unknown>;

export function testConfig(namespace: string, overrides: ConfigInput = {}): SchedulerConfig {
  return schedulerConfigSchema.parse({
    logLevel: process.env['WHARF_TEST_LOG_LEVEL'] ?? 'warn',
    kafka: { brokers: testInfra().kafka.brokers },
    grpc: { port: 0 },
    ops: { port: 0 },
    auth: { tokensFile: writeTokensFile() },
    admission: { intervalMs: 50 },
    state: { namespace },
    watch: { heartbeatMs: 500 },
    queues: [
      { name: 'batch', tenants: ['acme'], namespaces: ['team-a'], quota: { cpu: 8 } },
      { name: 'globex', tenants: ['globex'], namespaces: ['team-g'] },
    ],
    ...overrides,
  });
}

export interface RunningScheduler extends Scheduler {
  readonly namespace: string;
  readonly address: string;
  stop(): Promise<void>;
}

export async function startScheduler(namespace: string, overrides: ConfigInput = {}): Promise<RunningScheduler> {
  const config = testConfig(namespace, overrides);
  const logger = createLogger({ service: 'scheduler-test', level: config.logLevel });
  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 20_000, exit: () => undefined });
  const scheduler = buildScheduler({ config, logger });
  for (const c of scheduler.components) lifecycle.register(c);
  await lifecycle.start();
  await scheduler.leadership.settled();
  return {
    ...scheduler,
    namespace,
    address: `127.0.0.1:${scheduler.grpc.port}`,
    stop: async () => {
      await lifecycle.stop();
    },
  };
}

export function topicOf(namespace: string, topic: string): string {
  return `${namespace}.${topic}`;
}

export function withToken(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

type Callback<T> = (error: grpc.ServiceError | null, value: T) => void;

/** A unary call as a promise. */
export function unary<Req, Res>(
  client: grpc.Client,
  method: string,
  request: Req,
  token: string | undefined,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: Callback<Res>) => void>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, request, withToken(token), { deadline: Date.now() + 30_000 }, (error, value) => (error ? reject(error) : resolve(value)));
  });
}

export function clients(address: string): { jobs: InstanceType<typeof JobServiceClient>; queues: InstanceType<typeof QueueServiceClient> } {
  return {
    jobs: new JobServiceClient(address, grpc.credentials.createInsecure()),
    queues: new QueueServiceClient(address, grpc.credentials.createInsecure()),
  };
}

/** Collects a server stream's items until `until` says stop, then cancels the call. */
export function collectWatch(
  stream: grpc.ClientReadableStream<WatchJobResponse>,
  until: (items: WatchJobResponse[]) => boolean,
  timeoutMs = 30_000,
): Promise<WatchJobResponse[]> {
  return new Promise((resolve, reject) => {
    const items: WatchJobResponse[] = [];
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`watch timed out with ${items.length} items`));
    }, timeoutMs);
    stream.on('data', (item: WatchJobResponse) => {
      items.push(item);
      if (until(items)) {
        clearTimeout(timer);
        stream.cancel();
        resolve(items);
      }
    });
    stream.on('error', (error: grpc.ServiceError) => {
      if (error.code === grpc.status.CANCELLED) return;
      clearTimeout(timer);
      reject(error);
    });
  });
}

export const eventsOf = (items: WatchJobResponse[]): JobEvent[] => items.flatMap((i) => (i.event ? [i.event] : []));

export function kafkaClient(): Kafka {
  return new Kafka({ clientId: uniqueName('sched-test'), brokers: testInfra().kafka.brokers, logLevel: logLevel.NOTHING });
}

/** Follows a topic (read committed) into an array. */
export async function follow<T>(
  kafka: Kafka,
  topic: string,
  decode: (value: Buffer, headers: Record<string, unknown>) => T,
): Promise<{ items: { key: string; value: T; partition: number }[]; consumer: Consumer }> {
  const items: { key: string; value: T; partition: number }[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('sched-test-follow'), allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  // The topic may have been created a moment ago; its metadata settles within seconds.
  await eventually(() => consumer.subscribe({ topic, fromBeginning: true }), { timeoutMs: 20_000, description: `subscribing to ${topic}` });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      if (!message.value) return;
      items.push({
        key: message.key?.toString() ?? '',
        value: decode(message.value, message.headers as Record<string, unknown>),
        partition,
      });
    },
  });
  return { items, consumer };
}

export const decodeLaunch = (value: Buffer, headers: Record<string, unknown>): LaunchCommand =>
  decodeMessage(LaunchCommand, 'LaunchCommand', value, contentTypeOf(headers as never, value));

export function observationRecord(observation: Partial<Observation> & { jobId: string; run: number }): { key: string; value: Buffer } {
  const full = Observation.fromPartial({ source: 'job-launcher', observedAt: new Date(), ...observation });
  return { key: observation.jobId, value: encodeMessage(Observation, full) };
}

export const observationsTopic = (ns: string): string => topicOf(ns, Topics.observations);
