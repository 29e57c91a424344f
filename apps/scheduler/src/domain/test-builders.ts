import { JobSpec, type JobSpec as JobSpecType } from '@wharf/contracts';
import { queueSchema, type QueueConfig } from './queue-config';

/** A valid spec for tests, with overrides. */
export function aSpec(overrides: Partial<JobSpecType> = {}): JobSpecType {
  return { ...JobSpec.fromPartial({ name: 'hello', namespace: 'team-a', queue: 'batch', image: 'busybox:1.36' }), ...overrides };
}

export function aQueue(overrides: Partial<QueueConfig> & { name?: string } = {}): QueueConfig {
  return queueSchema.parse({ name: 'batch', tenants: ['acme'], namespaces: ['team-a'], ...overrides });
}
