/**
 * @wharf/streams — what a StreamSpec means, as pure code: the validator that turns a spec into
 * a StreamDefinition (every problem listed with its field path), the processor chain and its
 * JSONata expressions, the record serializers, the token bucket, and the stream errors.
 * stream-ingest runs streams with it; the scheduler's StreamService validates specs with the
 * same code before writing them to wharf.streams, so a spec it accepts is one stream-ingest runs.
 * No I/O, no client.
 */
export * from './stream-definition';
export * from './processor-chain';
export * from './expression-compiler';
export * from './record-serializer';
export * from './stream-errors';
export * from './stream-secrets';
export * from './token-bucket';
