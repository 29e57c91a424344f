import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  isWharfError,
  NotFoundError,
  PermissionDeniedError,
  statusCodeOf,
  UnavailableError,
  WharfError,
  type WharfErrorOptions,
} from '../errors';

/**
 * Thrown when a watch (or list) asks for a resourceVersion the apiserver no longer keeps
 * (HTTP 410 Gone). The cure is a fresh list, then a watch from the list's resourceVersion.
 */
export class GoneError extends WharfError {
  override readonly name: string = 'GoneError';
  override readonly retriable = true;
  override readonly grpcCode = GrpcStatus.UNAVAILABLE;
}

/**
 * Thrown when an update's precondition failed (409 Conflict): the object changed since its
 * resourceVersion was read. Read it again and decide again.
 */
export class ConflictError extends WharfError {
  override readonly name: string = 'ConflictError';
  override readonly grpcCode = GrpcStatus.ABORTED;
}

export function isGone(error: unknown): boolean {
  return error instanceof GoneError || statusCodeOf(error) === 410;
}

export function isConflict(error: unknown): boolean {
  return error instanceof ConflictError;
}

/** What a request was about; goes into the error's context (never object contents). */
export interface KubeRequest {
  readonly verb: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
}

interface StatusBody {
  readonly message?: string;
  readonly reason?: string;
}

function statusBodyOf(error: unknown): StatusBody {
  if (error === null || typeof error !== 'object' || !('body' in error)) return {};
  let body: unknown = (error as { body: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (body === null || typeof body !== 'object') return {};
  const { message, reason } = body as { message?: unknown; reason?: unknown };
  return {
    message: typeof message === 'string' ? message : undefined,
    reason: typeof reason === 'string' ? reason : undefined,
  };
}

/** Errors of the connection itself (refused, reset, timed out, TLS), not of the request. */
export function isNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const e = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string') return true; // ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET…
    if (
      e.name === 'TimeoutError' ||
      e.name === 'HeadersTimeoutError' ||
      e.name === 'BodyTimeoutError'
    )
      return true;
    if (e.name === 'TypeError' && (e.message === 'fetch failed' || e.message === 'terminated'))
      return true;
    current = e.cause;
  }
  return false;
}

/**
 * Maps a client-node failure (ApiException with `code`, a watch error with `statusCode`, a
 * network error) into the platform hierarchy:
 * 404 NotFound, 409 AlreadyExists (ConflictError when the reason is Conflict, a failed
 * resourceVersion precondition), 400/422 InvalidArgument with the server's message, 401/403 PermissionDenied,
 * 410 Gone, 429/5xx/network Unavailable (retriable), other statuses InvalidArgument. Other
 * errors (programming errors…) pass through unchanged.
 *
 * The raw ApiException is never attached: its message embeds the whole response. The
 * server's message is kept, with quoted values scrubbed for Secrets.
 */
export function toKubeError(error: unknown, request: KubeRequest): unknown {
  if (isWharfError(error)) return error;
  const code = statusCodeOf(error);
  const what = `${request.verb} ${request.kind}${request.name ? ` ${request.namespace ? `${request.namespace}/` : ''}${request.name}` : ''}`;
  if (code === undefined) {
    if (!isNetworkError(error)) return error;
    return new UnavailableError(`kubernetes unreachable: ${what}`, {
      cause: error,
      context: { ...request },
    });
  }
  const body = statusBodyOf(error);
  let detail = body.message ?? `HTTP ${code}`;
  if (request.kind === 'secret')
    detail = detail.replace(/Invalid value: "(?:[^"\\]|\\.)*"/g, 'Invalid value: [redacted]');
  const options: WharfErrorOptions = { context: { ...request, code, reason: body.reason } };
  const message = `${what}: ${detail}`;
  if (code === 409 && body.reason === 'Conflict') return new ConflictError(message, options);
  // etcd refuses an object over its request limit (~1.5 MiB) and the apiserver answers 500: the
  // same request can never pass, so it is about the request, not a passing outage.
  if (code >= 500 && /etcdserver: request is too large/.test(detail)) return new InvalidArgumentError(message, [], options);
  switch (code) {
    case 404:
      return new NotFoundError(message, options);
    case 409:
      return new AlreadyExistsError(message, options);
    case 400:
    case 422:
      return new InvalidArgumentError(message, [], options);
    case 401:
    case 403:
      return new PermissionDeniedError(message, options);
    case 410:
      return new GoneError(message, options);
    default:
      // 429 (throttled) and 5xx pass with time; any other status is about the request.
      if (code === 429 || code >= 500) return new UnavailableError(message, options);
      return new InvalidArgumentError(message, [], options);
  }
}
