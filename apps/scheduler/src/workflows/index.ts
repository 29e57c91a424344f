/**
 * Workflows: pure, unit-tested logic the scheduler composes into WorkflowService and the
 * `wharf.commands` path. Nothing here does I/O: parse + validate a spec, render tasks to
 * JobSpecs, progress a workflow by events, plan preflight. Task outputs are parsed by the
 * contract's scanner (`TaskOutputScanner` in @wharf/contracts, docs/adr/0007-task-outputs.md),
 * re-exported here for the scheduler's code.
 */
export * from './workflow-schema';
export * from './workflow-spec-parser';
export * from './workflow-dag';
export * from './workflow-template';
export * from './workflow-identity';
export * from './task-renderer';
export * from './workflow-reducer';
export * from './workflow-preflight';
export {
  defaultMaxOutputBytes,
  outputMarker,
  parseTaskOutput,
  TaskOutputScanner,
  type TaskOutputResult,
} from '@wharf/contracts';
