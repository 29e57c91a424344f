const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('contracts', __dirname);
