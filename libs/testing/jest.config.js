const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('testing', __dirname);
