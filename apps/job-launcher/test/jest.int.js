// Integration tests of job-launcher. With the shared globalSetup (starts Kafka + Kubernetes/KWOK):
//   jest -c apps/job-launcher/test/jest.int.js [path]
// Against servers already running (WHARF_* exported, e.g. eval "$(bash tools/run.sh stack env)"):
//   WHARF_EXTERNAL_INFRA=1 jest -c apps/job-launcher/test/jest.int.js [path]
const root = require('../../../jest.int.config.js');

// ESM-only client-node dependencies the shared preset misses (see ../jest.config.js).
const extraEsm = ['socks-proxy-agent', 'agent-base', 'http-proxy-agent', 'https-proxy-agent'];
const external = process.env.WHARF_EXTERNAL_INFRA === '1';

module.exports = {
  ...root,
  transformIgnorePatterns: root.transformIgnorePatterns.map((p) =>
    p.replace('/node_modules/(?!(', `/node_modules/(?!(${extraEsm.join('|')}|`),
  ),
  rootDir: require('node:path').resolve(__dirname, '../../..'),
  roots: ['<rootDir>/apps/job-launcher'],
  ...(external ? { globalSetup: undefined, globalTeardown: undefined } : {}),
  testTimeout: 600_000,
};
