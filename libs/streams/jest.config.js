const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('streams', __dirname);
