/**
 * Workflows: pure, unit-tested logic the scheduler composes into WorkflowService and the
 * `wharf.commands` path. Nothing here does I/O: parse + validate a spec, render tasks to
 * JobSpecs, progress a workflow by events, plan preflight, and parse task outputs (used by
 * job-launcher's side of the contract, see docs/adr/0007-task-outputs.md).
 */
export * from './workflow-schema';
export * from './workflow-spec-parser';
export * from './workflow-dag';
export * from './workflow-template';
export * from './workflow-identity';
export * from './task-renderer';
export * from './workflow-reducer';
export * from './workflow-preflight';
export * from './task-output-parser';
