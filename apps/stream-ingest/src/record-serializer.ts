// Moved to @wharf/streams (libs/streams), which the scheduler shares to validate specs; this
// re-export keeps the imports of stream-ingest's own files unchanged.
export {
  isSerializerName,
  serializerFor,
  serializerNames,
  Serializers,
  type RecordSerializer,
  type SerializerName,
} from '@wharf/streams';
