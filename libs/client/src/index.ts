/** @wharf/client — Wharf's public gRPC API as a typed client, and the proto3 JSON mapping. */
export * from './grpc-api';
export * from './proto-json';
