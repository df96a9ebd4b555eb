// One jest run for the whole workspace. Tests are TypeScript transpiled by ts-jest with
// tsconfig.tests.json (isolatedModules: no type check here; `pnpm test` runs `tsc -b` for the
// sources and `tsc -p tsconfig.tests.json` for the tests before jest).
// Workspace packages are imported through their `exports` (built dist/), never their src/.
/** @type {import('jest').Config} */
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.tests.json' }];
const project = (displayName, testMatch, extra = {}) => ({
  displayName,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  testMatch,
  ...extra,
});
module.exports = {
  projects: [
    project('unit', [
      '<rootDir>/test/**/*.unit.test.ts',
      '<rootDir>/packages/*/test/**/*.unit.test.ts',
      '<rootDir>/services/*/test/**/*.unit.test.ts',
      '<rootDir>/loadtests/test/**/*.unit.test.ts',
    ]),
    project('integration', [
      '<rootDir>/test/**/*.int.test.ts',
      '<rootDir>/packages/*/test/**/*.int.test.ts',
      '<rootDir>/services/*/test/**/*.int.test.ts',
      '<rootDir>/loadtests/test/**/*.int.test.ts',
      '<rootDir>/examples/*/test/**/*.int.test.ts',
    ]),
  ],
  testTimeout: 60000,
};
