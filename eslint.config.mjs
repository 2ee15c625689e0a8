// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Modules that do I/O: the pure domain layer imports none of them (node:crypto is allowed for
 * hashing; randomness and time come in as parameters).
 */
const IO_MODULES = ['^node:(?!crypto$)', '^(fs|net|http|https|dns|child_process)$', '^@aws-sdk/', '^nodemailer$', '^@middy/', '^@aws-lambda-powertools/'];
const relative = (dirs) => dirs.map((dir) => `^\\.\\./${dir}/`);
const layer = (from, banned, why) => ({
  files: [`lambdas/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: banned.map((regex) => ({ regex, message: why })) }],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'dist/**', 'coverage/**', '.local/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  { files: ['**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  // The layers (README "Architecture"): domain is pure, store knows nothing of HTTP, providers nothing of workers.
  layer(
    'domain',
    [...IO_MODULES, ...relative(['store', 'http', 'workers', 'providers', 'local']), '^\\.\\./shared/(?!(errors|jobs)$)'],
    'the domain layer is pure: no I/O, no store, no handlers',
  ),
  layer('store', relative(['http', 'workers', 'providers', 'local']), 'the store knows nothing of handlers, workers or providers'),
  layer('providers', relative(['workers', 'http', 'local']), 'providers know nothing of workers or handlers'),
  layer('shared', relative(['http', 'workers', 'local']), 'shared code is below handlers and workers'),
  layer('services', relative(['http', 'workers', 'local']), 'application services are below handlers and workers'),
  {
    // One clock (lambdas/shared/clock.ts): now() for what the product records and schedules, wallNow() for
    // what another party checks against its own clock and for real elapsed time (the local runner's deadlines).
    files: ['lambdas/**/*.ts'],
    ignores: ['lambdas/shared/clock.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'time comes from lambdas/shared/clock.ts: now(), or wallNow()' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'time comes from lambdas/shared/clock.ts: new Date(now()) or new Date(wallNow())',
        },
      ],
    },
  },
  {
    // The local runner loads the handler modules after it has set the environment they read.
    files: ['lambdas/local/stack.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests and scripts read JSON answers (any), and some tests load modules inside jest.isolateModules (require).
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
