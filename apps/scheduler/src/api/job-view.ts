import type { Job, JobRecord } from '@wharf/contracts';
import { redactSpec } from '../domain/job-reducer';

/** The public view of a job: no inline secret values. */
export function toJobView(record: JobRecord): Job {
  return {
    jobId: record.jobId,
    tenant: record.tenant,
    spec: redactSpec(record.spec),
    state: record.state,
    runs: record.runs,
    sequence: record.sequence,
    cancelRequested: record.cancelRequested,
    reason: record.reason,
    message: record.message,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt,
    workflowId: record.workflowId,
  };
}
