const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('scheduler', __dirname);
