// ESLint for the dashboard's ES modules (flat config): the recommended rules, browser
// globals. Vendored and generated files are someone else's code and are not linted.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['vendor/**', 'types/**', 'node_modules/**'] },
  js.configs.recommended,
  {
    files: ['dashboard.js', 'js/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: globals.browser,
    },
    rules: {
      'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always'],
      'prefer-const': 'error',
      'no-var': 'error',
    },
  },
  {
    files: ['eslint.config.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
  },
];
