// `npm run test:drills`: the short fault drills (test/drills/*.test.ts), the same drill code
// as `npm run drills` at test sizes. Kept out of `npm test`, which they would slow by ~30 s.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/drills'],
  testPathIgnorePatterns: ['/node_modules/'],
};
