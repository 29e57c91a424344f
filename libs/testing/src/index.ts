/** @wharf/testing — the test harness: real servers, eventually(), unique names, a fake clock, builders. */
export * from './eventually';
export * from './fake-clock';
export * from './launch-fixtures';
export * from './test-infra';
export * from './unique';
export * from './infra/managed-process';
export * from './infra/tcp-proxy';
export * from './infra/install';
export { startInfra, type Infra, type InfraOptions } from './infra/infra';
export { startKafka, type KafkaServer } from './infra/kafka';
export { startKube, type KubeServer } from './infra/kube';
export { startS3, type S3Server } from './infra/s3';
