// Integration tests: every `*.int.spec.ts`, run once against real servers that
// libs/testing's globalSetup starts (Kafka, a Kubernetes control plane with KWOK nodes, S3).
const { base } = require('./jest.preset');

module.exports = {
  ...base,
  displayName: 'integration',
  rootDir: __dirname,
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testMatch: ['**/*.int.spec.ts'],
  // The container suites need a Docker engine and locally built images: .ci/docker.sh runs
  // them (WHARF_CONTAINERS=1) after making sure of both.
  testPathIgnorePatterns: process.env.WHARF_CONTAINERS === '1' ? ['/node_modules/'] : ['/node_modules/', '/libs/testing/src/containers/'],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  testTimeout: 180_000,
  maxWorkers: 1,
  // Servers are stopped by globalTeardown; a client a test forgot to close (a kafkajs timer, a
  // watch) must not keep CI waiting after the results are in.
  forceExit: true,
};
