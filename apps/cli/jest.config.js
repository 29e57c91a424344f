const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('cli', __dirname);
