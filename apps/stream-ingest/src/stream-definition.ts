// Moved to @wharf/streams (libs/streams), which the scheduler shares to validate specs; this
// re-export keeps the imports of stream-ingest's own files unchanged.
export {
  Compressions,
  defaultDefinitionDefaults,
  defaultSourceGroup,
  HttpFormats,
  toStreamDefinition,
  type Compression,
  type DefinitionDefaults,
  type HttpFormat,
  type SinkDefinition,
  type SourceDefinition,
  type StreamDefinition,
} from '@wharf/streams';
