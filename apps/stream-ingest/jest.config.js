const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('stream-ingest', __dirname);
