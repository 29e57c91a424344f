import {
  InvalidArgumentError,
  isProgrammingError,
  isWharfError,
  NotLeaderError,
  PermissionDeniedError,
  UnavailableError,
  type WharfError,
} from '../errors';

/**
 * Broker error types meaning "another producer with this transactional id took over": this
 * producer is fenced for good. PRODUCER_FENCED (90) is newer than kafkajs, which reports it
 * by code only.
 */
const fencedTypes = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
const fencedCodes = new Set([47, 90]);

/** The idempotent producer's sequence state is broken; only a new producer id recovers. */
const producerStateTypes = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** The request itself is wrong: retrying it cannot help. */
const invalidTypes = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_REQUIRED_ACKS',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
  'POLICY_VIOLATION',
]);

const deniedTypes = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
]);

interface KafkaErrorShape {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/** The broker error types (`INVALID_PRODUCER_EPOCH`…) in an error, its causes and aggregates. */
export function kafkaErrorTypes(error: unknown): { types: Set<string>; codes: Set<number> } {
  const types = new Set<string>();
  const codes = new Set<number>();
  const visit = (current: unknown, depth: number): void => {
    if (current === null || typeof current !== 'object' || depth > 5) return;
    const e = current as KafkaErrorShape;
    if (typeof e.type === 'string') types.add(e.type);
    if (typeof e.code === 'number') codes.add(e.code);
    if (Array.isArray(e.errors)) for (const inner of e.errors) visit(inner, depth + 1);
    visit(e.cause, depth + 1);
  };
  visit(error, 0);
  return { types, codes };
}

export function isFencedError(error: unknown): boolean {
  const { types, codes } = kafkaErrorTypes(error);
  return [...types].some((t) => fencedTypes.has(t)) || [...codes].some((c) => fencedCodes.has(c));
}

/** True when an idempotent producer must be recreated to send again. */
export function needsNewProducer(error: unknown): boolean {
  const { types } = kafkaErrorTypes(error);
  return [...types].some((t) => producerStateTypes.has(t));
}

/**
 * Maps a kafkajs failure into the platform hierarchy. kafkajs marks an error non-retriable
 * once its own retries are exhausted, but for callers a broker that stayed away for 30 s is
 * still "try again later", so everything not known to be final is {@link UnavailableError}.
 * Wharf errors and programming errors pass through unchanged.
 */
export function toKafkaError(error: unknown, context: Record<string, unknown> = {}): unknown {
  if (isWharfError(error) || isProgrammingError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const { types } = kafkaErrorTypes(error);
  const has = (set: Set<string>): boolean => [...types].some((t) => set.has(t));
  let mapped: WharfError;
  if (isFencedError(error)) {
    mapped = new NotLeaderError(`fenced by a newer producer: ${message}`, {
      cause: error,
      context,
    });
  } else if (has(invalidTypes)) {
    mapped = new InvalidArgumentError(`kafka rejected the request: ${message}`, [], {
      cause: error,
      context,
    });
  } else if (has(deniedTypes)) {
    mapped = new PermissionDeniedError(`kafka denied the request: ${message}`, {
      cause: error,
      context,
    });
  } else {
    mapped = new UnavailableError(`kafka request failed: ${message}`, { cause: error, context });
  }
  return mapped;
}
