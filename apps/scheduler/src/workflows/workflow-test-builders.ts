import type { IndexResult, WorkflowSpec } from '@wharf/contracts';
import { parseWorkflowText } from './workflow-spec-parser';
import type { WorkflowProgressEvent } from './workflow-reducer';

/** A validated spec from YAML, for tests. */
export function specFrom(yaml: string): WorkflowSpec {
  const result = parseWorkflowText(yaml);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.spec;
}

export function succeeded(jobId: string, ...outputs: string[]): WorkflowProgressEvent {
  const results: IndexResult[] = (outputs.length ? outputs : ['']).map((outputJson, index) => ({
    index,
    succeeded: true,
    exitCode: 0,
    reason: 'Completed',
    outputJson,
  }));
  return { type: 'task-job-finished', jobId, outcome: 'succeeded', results };
}

export function failed(jobId: string, message = 'failed indexes: 0'): WorkflowProgressEvent {
  return { type: 'task-job-finished', jobId, outcome: 'failed', results: [], message };
}

export function cancelled(jobId: string): WorkflowProgressEvent {
  return { type: 'task-job-finished', jobId, outcome: 'cancelled', results: [] };
}
