import type { StreamSpec } from '@wharf/contracts';
import { createKafka, KafkaProducer, SecretSealer, type Component, type Logger } from '@wharf/platform';
import type { Registry } from 'prom-client';
import type { Clock } from '@wharf/platform';
import type { StreamIngestConfig } from './config';
import { KafkaTopicEnsurer, pipelineConsumerFactory, StreamSpecConsumer } from './kafka-adapters';
import { createSourceFactory } from './source-factory';
import { StandaloneFeed } from './standalone-feed';
import { StatusPublisher } from './status-publisher';
import { StreamManager } from './stream-manager';
import { registerStreamMetrics } from './stream-metrics';
import { WebhookIngress } from './webhook-ingress';

export interface StreamIngestParts {
  readonly producer: KafkaProducer;
  readonly ingress: WebhookIngress;
  readonly streams: StreamManager;
  readonly status: StatusPublisher;
  /** In start order; a lifecycle stops them in reverse. */
  readonly components: readonly Component[];
}

/**
 * The named setup steps of stream-ingest, shared by main.ts and the integration tests:
 * Kafka client and producer → topic admin → webhook ingress → status publisher → stream
 * manager → desired-state feed (the standalone config's streams, else wharf.streams).
 *
 * Stop order (reverse): the feed stops first (no new streams), then every stream stops and
 * drains, then status, ingress and the producer flush.
 */
export function composeStreamIngest(
  config: Readonly<StreamIngestConfig>,
  deps: {
    readonly logger: Logger;
    readonly metrics: Registry;
    readonly clock: Clock;
    /** Standalone mode when non-empty. */
    readonly standalone: readonly StreamSpec[];
  },
): StreamIngestParts {
  const { logger, metrics, clock } = deps;
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId ?? 'stream-ingest', logger });
  const producer = new KafkaProducer({ kafka, logger, name: 'stream-sink' });
  const topics = new KafkaTopicEnsurer(kafka);
  const ingress = new WebhookIngress({ host: config.ingress.host, port: config.ingress.port, logger });
  const status = new StatusPublisher({
    sink: producer,
    replicaId: config.replicaId,
    clock,
    intervalMs: config.statusIntervalMs,
    logger,
    streams: () => streams.streams(),
    topics,
  });
  const streams = new StreamManager({
    sink: producer,
    topics,
    clock,
    logger,
    defaults: config.limits,
    sealer: config.secrets.sealKeyFile ? SecretSealer.fromFile(config.secrets.sealKeyFile) : undefined,
    batching: config.batching,
    topicPartitions: config.topics.partitions,
    stopDrainMs: config.stopDrainMs,
    createSource: createSourceFactory({
      webhook: {
        register: (path, handler) => ingress.register(path, handler),
        maxBodyBytes: config.ingress.maxBodyBytes,
        ackTimeoutMs: config.ingress.ackTimeoutMs,
      },
      kafkaConsumer: pipelineConsumerFactory({ kafka, logger, dlq: producer, registry: metrics }),
    }),
    onChange: (id, stream, deleted) => status.changed(id, stream, deleted),
  });
  registerStreamMetrics(metrics, () => streams.streams());
  const feed =
    deps.standalone.length > 0
      ? new StandaloneFeed(deps.standalone, streams)
      : new StreamSpecConsumer({
          kafka,
          logger,
          target: streams,
          groupId: config.ownership.groupId,
          sessionTimeoutMs: config.ownership.sessionTimeoutMs,
          heartbeatIntervalMs: config.ownership.heartbeatIntervalMs,
        });
  return { producer, ingress, streams, status, components: [producer, topics, ingress, status, streams, feed] };
}
