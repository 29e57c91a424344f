import {
  InvalidArgumentError,
  isRetriable,
  NotLeaderError,
  PermissionDeniedError,
  UnavailableError,
} from '../errors';
import { isFencedError, needsNewProducer, toKafkaError } from './kafka-errors';

/** Shapes of kafkajs errors: a protocol error wrapped by the retrier. */
const protocolError = (type: string, code: number) =>
  Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, code, retriable: false });
const wrapped = (cause: Error) =>
  Object.assign(new Error(cause.message, { cause }), {
    name: 'KafkaJSNonRetriableError',
    retriable: false,
  });

describe('toKafkaError', () => {
  it('surfaces fencing as NotLeaderError, however deep the cause', () => {
    const fenced = wrapped(protocolError('INVALID_PRODUCER_EPOCH', 47));
    expect(isFencedError(fenced)).toBe(true);
    expect(toKafkaError(fenced)).toBeInstanceOf(NotLeaderError);
    // PRODUCER_FENCED is newer than kafkajs, which knows it by code only.
    expect(toKafkaError(wrapped(protocolError('KAFKA_UNKNOWN_ERROR', 90)))).toBeInstanceOf(
      NotLeaderError,
    );
  });

  it('maps rejected requests and ACL denials to final errors', () => {
    expect(toKafkaError(wrapped(protocolError('MESSAGE_TOO_LARGE', 10)))).toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(toKafkaError(protocolError('TOPIC_AUTHORIZATION_FAILED', 29))).toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it('treats everything else, including exhausted retries, as retriable unavailability', () => {
    const exhausted = Object.assign(new Error('Connection error: ECONNREFUSED'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: false,
    });
    const mapped = toKafkaError(exhausted, { topic: 't' });
    expect(mapped).toBeInstanceOf(UnavailableError);
    expect(isRetriable(mapped)).toBe(true);
    expect((mapped as UnavailableError).context).toEqual({ topic: 't' });
  });

  it('passes Wharf and programming errors through', () => {
    const bug = new TypeError('undefined is not a function');
    expect(toKafkaError(bug)).toBe(bug);
    const own = new InvalidArgumentError('bad');
    expect(toKafkaError(own)).toBe(own);
  });

  it('recognises errors that need a new idempotent producer', () => {
    expect(needsNewProducer(wrapped(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', 45)))).toBe(true);
    expect(needsNewProducer(protocolError('NOT_LEADER_FOR_PARTITION', 6))).toBe(false);
  });
});
