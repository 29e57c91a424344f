const { unitConfig } = require('../../jest.preset');

module.exports = unitConfig('job-launcher', __dirname);
