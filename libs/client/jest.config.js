const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('client', __dirname);
