// The linter's rules (decision in docs/decisions/0016-lint-and-format.md). Type-aware rules need the
// type information of each file: the packages' and services' own tsconfigs for src/, the tests' one
// tsconfig for tests. Formatting is prettier's (eslint-config-prettier turns off rules it owns).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'loadtests/reports/**', '.cache/**', '.data/**', '.run/**', 'coverage/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits or catches hides its failure; say `void` where that is the intent.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function where a callback's result is not awaited (a listener, a setTimeout): its
      // rejection goes nowhere.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      // Say what the types cannot say in a comment next to an eslint-disable, or type it.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests belong to no package's tsconfig: they have their own (tsconfig.tests.json).
    files: ['**/test/**/*.ts', 'test/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./tsconfig.tests.json'], tsconfigRootDir: import.meta.dirname },
    },
    // Tests read JSON answers and events whose shape their assertions state: `any` keeps them terse.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // Partner examples are plain CommonJS a partner runs with `node` as they are (no build step).
    files: ['examples/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
