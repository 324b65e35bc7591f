/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The short fault drills run in `npm run test:drills` (jest.drills.config.js), not in `npm test`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/drills/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // Tests start real servers; give slow CI machines room without hiding hangs.
  testTimeout: 20000,
};
