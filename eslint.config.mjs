// Lint for the whole workspace. Module boundaries are lint errors from day one:
// apps import libs, never each other; only libs/platform touches kafkajs and client-node;
// libs/contracts imports nothing internal; libs/launch (the pure Job renderer job-launcher and
// the scheduler share) and libs/streams (the pure stream spec validator and processor chain
// stream-ingest and the scheduler share) import contracts and platform, never a client.
// libs/client (the public gRPC API's typed client, for the CLI and the e2e runner) imports only
// contracts.
// Generated code is never linted.
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/.nx', 'libs/contracts/src/gen/**', '**/*.mjs', '**/*.js'],
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: false,
          depConstraints: [
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:launch', 'type:streams', 'type:client'],
              bannedExternalImports: ['kafkajs', '@kubernetes/client-node'],
            },
            {
              sourceTag: 'type:launch',
              onlyDependOnLibsWithTags: ['type:platform', 'type:contracts'],
              bannedExternalImports: ['kafkajs', '@kubernetes/client-node'],
            },
            {
              sourceTag: 'type:streams',
              onlyDependOnLibsWithTags: ['type:platform', 'type:contracts'],
              bannedExternalImports: ['kafkajs', '@kubernetes/client-node'],
            },
            {
              sourceTag: 'type:client',
              onlyDependOnLibsWithTags: ['type:contracts'],
              bannedExternalImports: ['kafkajs', '@kubernetes/client-node'],
            },
            {
              sourceTag: 'type:platform',
              onlyDependOnLibsWithTags: ['type:contracts'],
            },
            {
              sourceTag: 'type:contracts',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: ['kafkajs', '@kubernetes/client-node'],
            },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:platform', 'type:contracts'],
            },
            {
              sourceTag: 'type:e2e',
              onlyDependOnLibsWithTags: ['type:testing', 'type:platform', 'type:contracts', 'type:client'],
              bannedExternalImports: ['kafkajs', '@kubernetes/client-node'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object instead of a TS enum.' },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      // Tests may also use the testing lib and the real clients to check what landed in Kafka
      // and Kubernetes; apps still never import each other.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:launch', 'type:streams', 'type:client', 'type:testing'] },
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing'] },
            { sourceTag: 'type:launch', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:streams', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing'] },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:testing', 'type:platform', 'type:contracts', 'type:client'] },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'No focused tests.' },
        { object: 'it', property: 'only', message: 'No focused tests.' },
        { object: 'test', property: 'only', message: 'No focused tests.' },
        { object: 'describe', property: 'skip', message: 'No skipped suites.' },
        { object: 'it', property: 'skip', message: 'No skipped tests.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fdescribe', message: 'No focused tests.' },
        { name: 'xdescribe', message: 'No skipped suites.' },
        { name: 'xit', message: 'No skipped tests.' },
      ],
    },
  },
];
