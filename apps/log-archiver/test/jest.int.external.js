// Integration tests of log-archiver against servers that are already running (their WHARF_*
// variables exported, e.g. by `tools/infra` `up` or tools/bench/log-archiver/servers.sh),
// without the shared globalSetup that starts its own:
//   jest -c apps/log-archiver/test/jest.int.external.js [path]
const root = require('../../../jest.int.config.js');

// See ../jest.config.js: ESM-only client-node dependencies the shared preset misses.
const extraEsm = ['socks-proxy-agent', 'agent-base', 'http-proxy-agent', 'https-proxy-agent'];

module.exports = {
  ...root,
  transformIgnorePatterns: root.transformIgnorePatterns.map((p) =>
    p.replace('/node_modules/(?!(', `/node_modules/(?!(${extraEsm.join('|')}|`),
  ),
  rootDir: require('node:path').resolve(__dirname, '../../..'),
  roots: ['<rootDir>/apps/log-archiver'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
