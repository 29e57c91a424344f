import type { LaunchPolicy } from '../src/launch/launch-policy';

export { jobSpec, launchRun, seed000 } from '@wharf/testing';

export const testPolicy: LaunchPolicy = {
  namespaces: ['default', 'team-a'],
  images: ['docker.io/library/*', 'registry.example.com/jobs/*'],
  serviceAccounts: ['default', 'runner'],
  maxItems: 100,
  maxParallelism: 50,
  maxConfigBytes: 100_000,
  maxSecretBytes: 10_000,
  maxActiveDeadlineSeconds: 86_400,
  maxBackoffLimitPerIndex: 5,
};
