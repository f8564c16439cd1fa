// Typed lint: the rules that catch real defects in async, lease-holding code (floating promises).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.local/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Async methods that satisfy an async interface without awaiting are fine.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/producer/**', '**/worker/**'],
              message:
                'shared/ must not import from producer/ or worker/; producer and worker import only from shared/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/producer/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/worker/**'] }] },
  },
  {
    files: ['src/worker/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/producer/**'] }] },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**', 'src/simulator/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  // vitest's asymmetric matchers (expect.any) are typed any.
  { files: ['test/**'], rules: { '@typescript-eslint/no-unsafe-assignment': 'off' } },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
