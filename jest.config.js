// @ts-check
// The AWS SDK warns about Node 20 once per process; the global setup runs in this one.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** ESM-only dependencies that jest (CommonJS mode) must transform. */
const esmDeps = ['@middy', 'jose'];
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  transformIgnorePatterns: [`node_modules/(?!(${esmDeps.join('|')})/)`],
  setupFiles: ['<rootDir>/test/helpers/env.ts'],
};

/** @type {import('jest').Config} */
module.exports = {
  // Two workers on CI's two cores: most of a file's time is spent waiting on the emulators.
  maxWorkers: 2,
  testSequencer: '<rootDir>/test/helpers/sequencer.js',
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
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
