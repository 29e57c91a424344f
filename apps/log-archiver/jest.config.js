const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('log-archiver', __dirname);
