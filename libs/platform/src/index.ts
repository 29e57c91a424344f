/**
 * @wharf/platform — what every Wharf service stands on: configuration, logging, errors and
 * retry, lifecycle and health, metrics, gRPC server helpers, and the only adapters to Kafka
 * and Kubernetes.
 */
export * from './config';
export * from './errors';
export * from './grpc-server';
export * from './kafka';
export * from './kube';
export * from './lifecycle';
export * from './logger';
export * from './ops-server';
export * from './retry';
export * from './secret-seal';
export * from './service';
