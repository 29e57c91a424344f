// Unit tests of every project (`*.spec.ts`: no network, milliseconds).
module.exports = {
  projects: ['<rootDir>/apps/*/jest.config.js', '<rootDir>/libs/*/jest.config.js'],
};
