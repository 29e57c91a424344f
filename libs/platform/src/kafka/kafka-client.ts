import { Kafka, logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../logger';

/** The kafkajs client, named here so apps can type it without importing kafkajs. */
export type KafkaClient = Kafka;

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  /** Shown in broker logs and quotas; usually the service name. */
  readonly clientId: string;
  readonly logger: Logger;
  /** @default 3_000 */
  readonly connectionTimeoutMs?: number;
  /** @default 30_000 */
  readonly requestTimeoutMs?: number;
}

export type PinoLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';

/** kafkajs log levels → pino levels (kafkajs has no trace/fatal). */
export function pinoLevelOf(level: logLevel): PinoLevel {
  switch (level) {
    case logLevel.ERROR:
      return 'error';
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'info';
    case logLevel.DEBUG:
      return 'debug';
    default:
      return 'silent';
  }
}

/** The kafkajs level that lets through exactly what `logger` would print. */
export function kafkaLevelOf(logger: Logger): logLevel {
  if (logger.isLevelEnabled('debug')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('info')) return logLevel.INFO;
  if (logger.isLevelEnabled('warn')) return logLevel.WARN;
  if (logger.isLevelEnabled('error')) return logLevel.ERROR;
  return logLevel.NOTHING;
}

/**
 * Bridges kafkajs logs into pino. The kafkajs namespace (`Consumer`, `Producer`, `Connection`…)
 * goes in `kafkaNamespace`, not `namespace`, which is reserved for the Kubernetes namespace.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const pinoLevel = pinoLevelOf(level);
      if (pinoLevel === 'silent') return;
      // `timestamp` duplicates pino's `time`; `logger` is always "kafkajs".
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      child[pinoLevel]({ kafkaNamespace: namespace, ...fields }, message);
    };
}

/**
 * A kafkajs client with logs in pino and bounded retries: a request is retried for about
 * 30 s (8 retries, 300 ms doubling, capped at 10 s) before its caller sees the error.
 */
export function createKafka(options: KafkaClientOptions): KafkaClient {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: kafkaLevelOf(options.logger),
    logCreator: kafkaLogCreator(options.logger),
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
  });
}

/**
 * `kafka` whose producers report every request they send to `onRequest` (kafkajs' request
 * instrumentation event: the API's name and the round trip in ms), for benchmarks and tests
 * that count round trips. Clients derived from it (withProducerCluster) keep reporting.
 */
export function withProducerRequestListener(
  kafka: KafkaClient,
  onRequest: (request: { readonly apiName: string; readonly duration: number }) => void,
): KafkaClient {
  const client = Object.create(kafka) as KafkaClient;
  client.producer = function (this: KafkaClient, config) {
    const producer = kafka.producer.call(this, config);
    producer.on(producer.events.REQUEST, ({ payload }) => onRequest(payload));
    return producer;
  };
  return client;
}

/**
 * `kafka` with its cluster factory wrapped: everything `kafka.admin()`, `.producer()` and
 * `.consumer()` of the returned client create goes through `wrap(options, create)`. kafkajs
 * keeps the factory under a private symbol; when it is not found (another kafkajs version),
 * `kafka` is returned unchanged and callers get kafkajs' own behaviour.
 */
export function withClusterFactory(
  kafka: KafkaClient,
  wrap: (
    options: Record<string, unknown>,
    create: (options: Record<string, unknown>) => unknown,
  ) => unknown,
): KafkaClient {
  const client = kafka as KafkaClient & Record<symbol, unknown>;
  // Own or inherited: clients derived from `kafka` (here or in withProducerRequestListener) are
  // objects whose prototype is the kafkajs client.
  let symbol: symbol | undefined;
  for (let o: object | null = client; o && !symbol; o = Object.getPrototypeOf(o) as object | null) {
    symbol = Object.getOwnPropertySymbols(o).find(
      (s) => s.description === 'private:Kafka:createCluster',
    );
  }
  const createCluster = symbol === undefined ? undefined : client[symbol];
  if (symbol === undefined || typeof createCluster !== 'function') return kafka;
  const patched = Object.create(client) as KafkaClient & Record<symbol, unknown>;
  const create = (options: Record<string, unknown>): unknown =>
    (createCluster as (o: unknown) => unknown).call(client, options);
  patched[symbol] = (options: Record<string, unknown>): unknown => wrap(options, create);
  return patched;
}
