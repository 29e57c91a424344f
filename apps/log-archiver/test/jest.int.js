// log-archiver's integration tests through the shared harness (globalSetup starts the servers
// named by WHARF_INFRA), with the ESM transform fix of ../jest.config.js:
//   WHARF_INFRA=kafka,kube,s3 jest -c apps/log-archiver/test/jest.int.js [path]
const root = require('../../../jest.int.config.js');

const extraEsm = ['socks-proxy-agent', 'agent-base', 'http-proxy-agent', 'https-proxy-agent'];

module.exports = {
  ...root,
  roots: ['<rootDir>/apps/log-archiver'],
  transformIgnorePatterns: root.transformIgnorePatterns.map((p) =>
    p.replace('/node_modules/(?!(', `/node_modules/(?!(${extraEsm.join('|')}|`),
  ),
};
