// @ts-check
// The AWS SDK warns about Node 20 once per process; the global setup runs in this one.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** ESM-only dependencies that jest (CommonJS mode) must transform (uuid: through @vonage/server-sdk, the Vonage contract test's client). */
const esmDeps = ['@middy', 'jose', 'uuid'];
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  // Ignored: files under node_modules unless the innermost package is one of esmDeps (npm may nest
  // one, e.g. @vonage/jwt/node_modules/uuid when another uuid is hoisted).
  transformIgnorePatterns: [`node_modules/(?!(${esmDeps.join('|')})/)(?!.*node_modules/(${esmDeps.join('|')})/)`],
  setupFiles: ['<rootDir>/test/helpers/env.ts'],
};

/**
 * `npm test` type-checks the whole tree (`tsc -p .`) before its jest step, test:all-but-scale, runs:
 * there the unit files are only transpiled, as the other projects' are, instead of type-checked a
 * second time file by file. That second check was most of the unit project's time: 123 s against
 * 35 s for the same 2,272 tests (two workers, no jest cache as in CI, a loaded 2-CPU machine). Run
 * any other way (`npm run test:unit`, `npx jest`) they are type-checked as they compile;
 * JEST_TYPECHECKED_BY_TSC=true skips that where tsc has run just before.
 */
const typeCheckedByTsc = process.env.npm_lifecycle_event === 'test:all-but-scale' || process.env.JEST_TYPECHECKED_BY_TSC === 'true';

/** @type {import('jest').Config} */
module.exports = {
  // Two workers on CI's two cores: most of a file's time is spent waiting on the emulators.
  maxWorkers: 2,
  testSequencer: '<rootDir>/test/helpers/sequencer.js',
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      // Type-checked as it is compiled, so `npm run test:unit` fails on a type error as `tsc` does.
      // test/unit/tsconfig.jest.json turns off isolatedModules (with it ts-jest transpiles file by
      // file, without types) and roots the program at test/unit, not at the whole tree (cdk types
      // included), which makes it three times cheaper. 151002 is ts-jest's note that it prefers
      // isolatedModules with module nodenext; it still compiles to CommonJS as the other projects.
      // The transformed ESM dependencies (.js) are only transpiled.
      transform: typeCheckedByTsc
        ? base.transform
        : {
            '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/unit/tsconfig.jest.json', diagnostics: { ignoreCodes: [151002] } }],
            '^.+\\.js$': base.transform['^.+\\.[tj]s$'],
          },
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/helpers/slow-tests.ts'],
    },
    { ...base, displayName: 'cdk', testMatch: ['<rootDir>/test/cdk/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/helpers/slow-tests.ts'] },
  ],
};
