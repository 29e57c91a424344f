import { status as GrpcStatus } from '@grpc/grpc-js';

/** A field-level problem of a rejected input, e.g. `{ field: 'spec.items[3]', description: … }`. */
export interface Violation {
  readonly field: string;
  readonly description: string;
}

export interface WharfErrorOptions {
  readonly cause?: unknown;
  /** Structured facts for logs (ids, topics, names) — never secret values. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * The root of Wharf's error hierarchy. Every error a component throws on purpose is one of
 * these, so callers decide with predicates ({@link isRetriable}, {@link isNotFound}) rather than
 * scattered `instanceof`, and the API maps them to gRPC status codes in one place
 * ({@link toGrpcStatus}).
 */
export class WharfError extends Error {
  override readonly name: string = 'WharfError';
  /** True when the same operation may succeed if tried again later. */
  readonly retriable: boolean = false;
  readonly grpcCode: GrpcStatus = GrpcStatus.INTERNAL;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(message: string, options: WharfErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.context = options.context ?? {};
  }
}

/** Thrown when input is invalid; lists every problem with its field path. */
export class InvalidArgumentError extends WharfError {
  override readonly name: string = 'InvalidArgumentError';
  override readonly grpcCode = GrpcStatus.INVALID_ARGUMENT;
  constructor(
    message: string,
    readonly violations: readonly Violation[] = [],
    options: WharfErrorOptions = {},
  ) {
    super(violations.length ? `${message}: ${formatViolations(violations)}` : message, options);
  }
}

/** Thrown when the thing asked for does not exist (or the caller may not know it exists). */
export class NotFoundError extends WharfError {
  override readonly name: string = 'NotFoundError';
  override readonly grpcCode = GrpcStatus.NOT_FOUND;
}

/** Thrown when creating something that exists with different content. */
export class AlreadyExistsError extends WharfError {
  override readonly name: string = 'AlreadyExistsError';
  override readonly grpcCode = GrpcStatus.ALREADY_EXISTS;
}

/** Thrown when the system is not in a state that allows the operation (missing Secret, …). */
export class FailedPreconditionError extends WharfError {
  override readonly name: string = 'FailedPreconditionError';
  override readonly grpcCode = GrpcStatus.FAILED_PRECONDITION;
  constructor(
    message: string,
    readonly violations: readonly Violation[] = [],
    options: WharfErrorOptions = {},
  ) {
    super(violations.length ? `${message}: ${formatViolations(violations)}` : message, options);
  }
}

/** Thrown when no valid credential was presented. */
export class UnauthenticatedError extends WharfError {
  override readonly name: string = 'UnauthenticatedError';
  override readonly grpcCode = GrpcStatus.UNAUTHENTICATED;
}

/** Thrown when the caller's tenant may not touch this job, queue or namespace. */
export class PermissionDeniedError extends WharfError {
  override readonly name: string = 'PermissionDeniedError';
  override readonly grpcCode = GrpcStatus.PERMISSION_DENIED;
}

/** Thrown when a limit (size, rate, quota) is exceeded. */
export class ResourceExhaustedError extends WharfError {
  override readonly name: string = 'ResourceExhaustedError';
  override readonly grpcCode = GrpcStatus.RESOURCE_EXHAUSTED;
}

/** Thrown when a dependency (Kafka, Kubernetes, S3) cannot be reached right now. */
export class UnavailableError extends WharfError {
  override readonly name: string = 'UnavailableError';
  override readonly retriable = true;
  override readonly grpcCode = GrpcStatus.UNAVAILABLE;
}

/** Thrown when an operation ran out of time. */
export class DeadlineExceededError extends WharfError {
  override readonly name: string = 'DeadlineExceededError';
  override readonly retriable = true;
  override readonly grpcCode = GrpcStatus.DEADLINE_EXCEEDED;
}

/** Thrown when this instance is not (or no longer) the leader allowed to write. */
export class NotLeaderError extends WharfError {
  override readonly name: string = 'NotLeaderError';
  override readonly retriable = true;
  override readonly grpcCode = GrpcStatus.UNAVAILABLE;
}

export function isWharfError(error: unknown): error is WharfError {
  return error instanceof WharfError;
}

/** Errors that indicate a bug, not a condition of the world: retrying cannot help. */
export function isProgrammingError(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError ||
    error instanceof RangeError
  );
}

/**
 * True when trying again may succeed: retriable Wharf errors, and foreign errors that are not
 * programming errors (network failures from client libraries). Non-retriable Wharf errors and
 * programming errors are final. Client errors that carry their own `retriable` flag (kafkajs)
 * are believed.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof WharfError) return error.retriable;
  if (isProgrammingError(error)) return false;
  if (error !== null && typeof error === 'object' && 'retriable' in error) {
    return Boolean((error as { retriable: unknown }).retriable);
  }
  return true;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof NotFoundError || statusCodeOf(error) === 404;
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof AlreadyExistsError || statusCodeOf(error) === 409;
}

/** HTTP status of a foreign client error (client-node's ApiException, the S3 SDK). */
export function statusCodeOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
  for (const candidate of [e.code, e.statusCode, e.$metadata?.httpStatusCode]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
  }
  return undefined;
}

export interface GrpcStatusInfo {
  readonly code: GrpcStatus;
  readonly details: string;
}

/**
 * The one mapping from errors to gRPC status. Wharf errors carry their code and message;
 * anything else is INTERNAL with a generic message, so internals (and anything secret they
 * might hold) never leak to callers.
 */
export function toGrpcStatus(error: unknown): GrpcStatusInfo {
  if (error instanceof WharfError) return { code: error.grpcCode, details: error.message };
  return { code: GrpcStatus.INTERNAL, details: 'internal error' };
}

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => (v.field ? `${v.field}: ${v.description}` : v.description)).join('; ');
}

/** A message for logs: the error's own message and the chain of causes. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': caused by: ');
}
