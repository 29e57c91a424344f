import type { SourceFactory } from './stream-manager';
import { GeneratorSource } from './sources/generator-source';
import { HttpStreamSource, type HttpStreamSourceOptions } from './sources/http-stream-source';
import { KafkaTopicSource, type TopicConsumerFactory } from './sources/kafka-topic-source';
import { WebhookSource, type WebhookSourceOptions } from './sources/webhook-source';

export interface SourceFactoryOptions {
  readonly http?: Omit<HttpStreamSourceOptions, 'lastEventId'>;
  readonly webhook: WebhookSourceOptions;
  readonly kafkaConsumer: TopicConsumerFactory;
}

/** Builds the source of a stream from its definition (and what it remembered from its last run). */
export function createSourceFactory(options: SourceFactoryOptions): SourceFactory {
  return (definition, memory) => {
    const source = definition.source;
    switch (source.kind) {
      case 'http':
        return new HttpStreamSource(source, { ...options.http, lastEventId: memory.lastEventId });
      case 'webhook':
        return new WebhookSource(source, options.webhook);
      case 'kafka':
        return new KafkaTopicSource(source, options.kafkaConsumer);
      case 'generator':
        return new GeneratorSource(source, memory.generatorNext ?? 1);
    }
  };
}
