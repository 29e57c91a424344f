import type { JobRecord } from '@wharf/contracts';
import { NotFoundError, PermissionDeniedError } from '@wharf/platform';
import { namespaceAllowed, tenantMayUse, type QueueConfig } from '../domain/queue-config';

/**
 * Who may do what: a tenant owns its jobs, and uses the queues (and their namespaces) that
 * list it. Checked before validation, so a foreign queue or namespace is PERMISSION_DENIED
 * whatever else is wrong with the request.
 */
export function authorizeSubmit(tenant: string, queueName: string, namespace: string, queues: readonly QueueConfig[]): void {
  const queue = queues.find((q) => q.name === queueName);
  if (!queue) return; // validation reports the unknown queue with its field path
  if (!tenantMayUse(queue, tenant)) {
    throw new PermissionDeniedError(`tenant '${tenant}' may not submit to queue '${queueName}'`);
  }
  if (namespace !== '' && !namespaceAllowed(queue, namespace)) {
    throw new PermissionDeniedError(`queue '${queueName}' does not run jobs in namespace '${namespace}'`);
  }
}

export function authorizeQueue(tenant: string, queue: QueueConfig | undefined, name: string): QueueConfig {
  if (!queue) throw new NotFoundError(`no queue named '${name}'`);
  if (!tenantMayUse(queue, tenant)) throw new PermissionDeniedError(`tenant '${tenant}' may not use queue '${name}'`);
  return queue;
}

/** The job, if it exists and belongs to `tenant`. Thrown: NotFoundError, PermissionDeniedError. */
export function authorizeJob(tenant: string, record: JobRecord | undefined, jobId: string): JobRecord {
  if (!record) throw new NotFoundError(`no job '${jobId}'`);
  if (record.tenant !== tenant) throw new PermissionDeniedError(`job '${jobId}' belongs to another tenant`);
  return record;
}
