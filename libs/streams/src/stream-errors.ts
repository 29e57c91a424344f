import { InvalidArgumentError, UnavailableError, type WharfErrorOptions } from '@wharf/platform';

/**
 * Thrown when one record cannot go through a stream: it is not JSON, an expression failed on
 * it, its key expression gave nothing, or the serializer cannot encode its value. Never
 * retriable: the record goes to the stream's DLQ with this message in its headers, and the
 * stream carries on.
 */
export class RecordRejectedError extends InvalidArgumentError {
  override readonly name: string = 'RecordRejectedError';
  constructor(
    message: string,
    /** Which step rejected the record: `processors[2].filter`, `sink.serializer`… */
    readonly step: string,
    options: WharfErrorOptions = {},
  ) {
    super(message, [], { ...options, context: { ...options.context, step } });
  }
}

/**
 * Thrown (to a source's ack callback) when a record was not delivered because its stream was
 * stopped, paused, updated or moved before the sink acknowledged it. Its source position is not
 * advanced, so the record is read again where the stream runs next. Retriable: "try again
 * later" (a webhook sender gets 503; a Kafka source does not commit the offset).
 */
export class StreamStoppedError extends UnavailableError {
  override readonly name: string = 'StreamStoppedError';
}
