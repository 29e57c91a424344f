// Moved to @wharf/streams (libs/streams), which the scheduler shares to validate specs; this
// re-export keeps the imports of stream-ingest's own files unchanged.
export {
  compileProcessors,
  ProcessorKinds,
  processorKindOf,
  runSteps,
  type ChainOptions,
  type CompiledChain,
  type ProcessorKind,
  type ProcessorStep,
  type StepOutcome,
  type StreamRecord,
} from '@wharf/streams';
