import { JobSpec, type LaunchRun } from '@wharf/contracts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// Builders of launch commands for the tests of the renderer, job-launcher and the scheduler.

/** A JobSpec with every field at its proto3 default, then `overrides`. */
export function jobSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'demo',
    namespace: 'default',
    queue: '',
    priority: 0,
    labels: {},
    image: 'busybox:1.36',
    command: [],
    args: [],
    env: {},
    inputs: undefined,
    items: [],
    secrets: [],
    resources: undefined,
    parallelism: 0,
    activeDeadlineSeconds: 0,
    retry: undefined,
    volumes: [],
    serviceAccount: '',
    annotations: {},
    ...overrides,
  };
}

export function launchRun(overrides: Partial<LaunchRun> = {}, spec: Partial<JobSpec> = {}): LaunchRun {
  return {
    jobId: 'demo-0123456789abcdef',
    run: 1,
    tenant: 'team-a',
    spec: jobSpec(spec),
    specHash: 'abc',
    admittedAt: undefined,
    workflowId: '',
    taskName: '',
    ...overrides,
  };
}

/** Seed 000's example as written in examples/seed-000/job.json: five items, three at a time, `rev` on each. */
export function seed000(jobId = 'rev-items-0123456789abcdef'): LaunchRun {
  const file = resolve(__dirname, '../../../examples/seed-000/job.json');
  const spec = JobSpec.fromJSON(JSON.parse(readFileSync(file, 'utf8')));
  return launchRun({ jobId }, spec);
}
