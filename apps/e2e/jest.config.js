const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('e2e', __dirname);
