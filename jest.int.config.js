// Integration tests: every `*.int.spec.ts`, run once against real servers that
// libs/testing's globalSetup starts (Kafka, a Kubernetes control plane with KWOK nodes, S3).
const { base } = require('./jest.preset');

module.exports = {
  ...base,
  displayName: 'integration',
  rootDir: __dirname,
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testMatch: ['**/*.int.spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  testTimeout: 180_000,
  maxWorkers: 1,
};
