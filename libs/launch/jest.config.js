const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('launch', __dirname);
