// Shared Jest settings. Unit tests (`*.spec.ts`) run per project with no network;
// integration tests (`*.int.spec.ts`) run from jest.int.config.js against the real servers.
const { resolve } = require('node:path');

// ESM-only packages (client-node 2.x and its dependencies, commander 15, eventsource-parser 4)
// go through the swc transform too: Jest's module loader cannot require() them as they are.
const esmPackages = [
  '@kubernetes/client-node',
  'openid-client',
  'oauth4webapi',
  'jose',
  'undici',
  'socks-proxy-agent',
  'agent-base',
  'socks',
  'hpagent',
  'http-proxy-agent',
  'https-proxy-agent',
  'ip-address',
  'smart-buffer',
  'commander',
  'eventsource-parser',
];

const base = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleNameMapper: {
    '^@wharf/client$': resolve(__dirname, 'libs/client/src/index.ts'),
    '^@wharf/contracts$': resolve(__dirname, 'libs/contracts/src/index.ts'),
    '^@wharf/launch$': resolve(__dirname, 'libs/launch/src/index.ts'),
    '^@wharf/platform$': resolve(__dirname, 'libs/platform/src/index.ts'),
    '^@wharf/streams$': resolve(__dirname, 'libs/streams/src/index.ts'),
    '^@wharf/testing$': resolve(__dirname, 'libs/testing/src/index.ts'),
  },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};

/** Unit tests of one project. */
function unitConfig(name, dir) {
  return {
    ...base,
    displayName: name,
    rootDir: dir,
    testMatch: ['<rootDir>/**/*.spec.ts'],
    testPathIgnorePatterns: ['/node_modules/', '\\.int\\.spec\\.ts$'],
  };
}

module.exports = { base, esmPackages, unitConfig };
