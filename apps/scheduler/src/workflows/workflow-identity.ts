import { WorkflowSpec } from '@wharf/contracts';
import { createHash } from 'node:crypto';
import { canonicalJson, deriveJobId, isValidJobId } from '../domain/job-identity';

/** sha256 (hex) of the spec's canonical proto3 JSON: a spec as text and as a message hash alike. */
export function workflowSpecHash(spec: WorkflowSpec): string {
  return createHash('sha256').update(canonicalJson(WorkflowSpec.toJSON(spec))).digest('hex');
}

/**
 * The workflow id: the client's idempotency key (a DNS label, checked by the caller with
 * {@link isValidWorkflowId}), else `<name ≤ 46>-<16 hex of the spec hash>` like job ids.
 */
export function deriveWorkflowId(spec: WorkflowSpec, idempotencyKey = ''): string {
  return idempotencyKey !== '' ? idempotencyKey : deriveJobId(spec.name, workflowSpecHash(spec));
}

export const isValidWorkflowId = isValidJobId;

/**
 * The job id of a task: `<workflow id>-<task>` cut to 54 characters, then `-<8 hex of
 * sha256(workflowId/task)>`. Deterministic, so submitting a task's job again after a restart is
 * idempotent, and unique per (workflow, task) even when the readable part is cut. A task runs
 * one job: its retries are per-index retries inside that job.
 */
export function taskJobId(workflowId: string, task: string): string {
  const suffix = createHash('sha256').update(`${workflowId}/${task}`).digest('hex').slice(0, 8);
  const head = `${workflowId}-${task}`.slice(0, 54).replace(/-+$/, '');
  return `${head}-${suffix}`;
}
