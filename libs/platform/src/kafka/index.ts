/** The Kafka adapter: the only code in Wharf that imports kafkajs. */
export * from './consumer-pipeline';
export * from './dead-letter';
export * from './kafka-client';
export * from './kafka-errors';
export * from './kafka-producer';
export * from './kafka-record';
export * from './topic-admin';
export * from './topic-reader';
