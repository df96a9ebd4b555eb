// The chaos suite (`pnpm test:chaos`, issue #14): each fault a test against real processes and private
// datastores it starts itself. Apart from `pnpm test`: it takes minutes and kills what it starts.
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '../..',
  displayName: 'chaos',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.tests.json' }] },
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.test.ts'],
  testTimeout: 15 * 60_000,
  globalSetup: '<rootDir>/test/chaos/setup.ts',
  globalTeardown: '<rootDir>/test/chaos/report.ts',
};
