/**
 * @wharf/contracts — the v1 wire contracts: generated protobuf types and gRPC stubs
 * (package wharf.v1), topic and label constants, the one record codec, and the task-output
 * marker scanner (docs/adr/0007-task-outputs.md).
 */
export * from './gen/wharf/v1/jobs.pb';
export * from './gen/wharf/v1/queues.pb';
export * from './gen/wharf/v1/workflows.pb';
export * from './gen/wharf/v1/streams.pb';
export * from './gen/wharf/v1/messages.pb';
export { descriptorSetBase64 } from './gen/descriptor-set';
export * from './topics';
export * from './codec';
export * from './task-output';
