/**
 * Integration-test helpers: what landed in Kafka (read with kafkajs directly, as tests may),
 * local HTTP sources, and stream-ingest composed in-process against the real broker.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { createLogger, Lifecycle } from '@wharf/platform';
import { eventually, uniqueName } from '@wharf/testing';
import { Registry } from 'prom-client';
import { systemClock } from '@wharf/platform';
import { streamIngestConfigSchema, type StreamIngestConfig } from '../src/config';
import { standaloneSpecs, type StandaloneStream } from '../src/standalone-streams';
import { composeStreamIngest, type StreamIngestParts } from '../src/stream-ingest-app';

export interface LandedRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string;
  readonly headers: Record<string, string>;
}

export function kafkaOf(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: uniqueName('test'), brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 20 } });
}

/** Reads `topic` from the beginning into `records` until stop(). */
export async function collect(brokers: readonly string[], topic: string): Promise<{ records: LandedRecord[]; stop(): Promise<void> }> {
  const records: LandedRecord[] = [];
  const kafka = kafkaOf(brokers);
  const admin = kafka.admin();
  await admin.connect();
  // A broker that just started may answer "does not host this topic-partition" for a moment.
  await eventually(
    async () => {
      const existing = await admin.listTopics();
      if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    },
    { timeoutMs: 60_000, intervalMs: 500, description: `topic ${topic}` },
  );
  await admin.disconnect();
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('collect'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
      records.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

export async function producerOf(brokers: readonly string[]): Promise<Producer> {
  const producer = kafkaOf(brokers).producer();
  await producer.connect();
  return producer;
}

/** stream-ingest in this process, standalone with `streams`, on the given brokers. */
export async function startStreamIngest(
  brokers: readonly string[],
  streams: readonly StandaloneStream[] | 'wharf.streams',
  overrides: Record<string, unknown> = {},
): Promise<StreamIngestParts & { stop(): Promise<void>; config: StreamIngestConfig }> {
  const config = streamIngestConfigSchema.parse({
    kafka: { brokers },
    ingress: { port: 0 },
    streams: streams === 'wharf.streams' ? [] : streams,
    statusIntervalMs: 1_000,
    stopDrainMs: 2_000,
    logLevel: 'warn',
    ...overrides,
  });
  const logger = createLogger({ service: 'stream-ingest', level: config.logLevel });
  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 20_000, exit: () => undefined });
  const app = composeStreamIngest(config, {
    logger,
    metrics: new Registry(),
    clock: systemClock,
    standalone: standaloneSpecs(config.streams, () => ''),
  });
  for (const component of app.components) lifecycle.register(component);
  await lifecycle.start();
  return { ...app, config, stop: async () => void (await lifecycle.stop()) };
}

export type Route = (req: IncomingMessage, res: ServerResponse, connection: number) => void;

/** A local HTTP source; `connection` counts requests from 1. */
export async function httpSource(route: Route): Promise<{ url: string; requests: IncomingMessage[]; close(): Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    route(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/stream`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes `text` in chunks, resolving once written (respects the socket's backpressure). */
export async function writeAll(res: ServerResponse, text: string, chunkBytes = 16 * 1024): Promise<void> {
  for (let i = 0; i < text.length; i += chunkBytes) {
    if (res.destroyed) return;
    if (!res.write(text.slice(i, i + chunkBytes))) await new Promise((resolve) => res.once('drain', resolve));
  }
}
