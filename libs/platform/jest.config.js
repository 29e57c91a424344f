const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('platform', __dirname);
