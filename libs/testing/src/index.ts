/** @wharf/testing — the test harness: real servers, eventually(), unique names, builders. */
export * from './eventually';
export * from './test-infra';
export * from './unique';
export * from './infra/managed-process';
export * from './infra/tcp-proxy';
