import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

/**
 * Thrown when a command cannot do what was asked: bad flags or files, or the server refused.
 * `message` is what the user reads (no stack); `exitCode` follows sysexits loosely:
 * 2 usage, 3 not found, 4 refused (invalid, precondition, exists), 5 auth, 69 unavailable,
 * 1 anything else.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const ExitCodes = {
  failure: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  auth: 5,
  /** The job or workflow being watched ended in failure or was cancelled. */
  jobFailed: 8,
  unavailable: 69,
} as const;

/** The server lists field problems as "what: field: description; field: description". */
function violationLines(details: string): string {
  const [head, ...rest] = details.split(': ');
  const tail = rest.join(': ');
  if (!tail.includes('; ') && rest.length < 2) return details;
  const items = tail.split('; ').filter(Boolean);
  return `${head}:\n${items.map((i) => `  - ${i}`).join('\n')}`;
}

/**
 * One clear sentence per gRPC status, with what to try next. The server's details are shown
 * where they are meant for users (validation, not found, preconditions); an INTERNAL error's
 * details are generic by design.
 */
export function describeGrpcError(error: ServiceError, server: string): CliError {
  // grpc-js appends an empty "Resolution note:" to connection errors.
  const details = (error.details || error.message).replace(/\.?\s*Resolution note:\s*$/, '');
  switch (error.code) {
    case GrpcStatus.INVALID_ARGUMENT:
      return new CliError(
        `the request was rejected: ${violationLines(details)}`,
        ExitCodes.refused,
        { cause: error },
      );
    case GrpcStatus.NOT_FOUND:
      return new CliError(`not found: ${details}`, ExitCodes.notFound, { cause: error });
    case GrpcStatus.ALREADY_EXISTS:
      return new CliError(
        `already exists with a different spec: ${details} (change the name or the idempotency key --id)`,
        ExitCodes.refused,
        { cause: error },
      );
    case GrpcStatus.FAILED_PRECONDITION:
      return new CliError(`cannot do that now: ${violationLines(details)}`, ExitCodes.refused, {
        cause: error,
      });
    case GrpcStatus.UNAUTHENTICATED:
      return new CliError(
        `not authenticated by ${server}: ${details} (set --token, WHARF_TOKEN or 'token' in the config file)`,
        ExitCodes.auth,
        { cause: error },
      );
    case GrpcStatus.PERMISSION_DENIED:
      return new CliError(
        `permission denied: ${details} (your token's tenant may not do this)`,
        ExitCodes.auth,
        {
          cause: error,
        },
      );
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new CliError(`limit reached: ${details}`, ExitCodes.refused, { cause: error });
    case GrpcStatus.UNAVAILABLE:
      // grpc-js reports connection failures as UNAVAILABLE too; the server's own UNAVAILABLE
      // (a standby, Kafka down) means it was reached.
      return /No connection established|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection dropped|failed to connect/i.test(
        details,
      )
        ? new CliError(
            `cannot reach the Wharf scheduler at ${server}: ${details} (is it running? check --server or WHARF_SERVER)`,
            ExitCodes.unavailable,
            { cause: error },
          )
        : new CliError(
            `the Wharf scheduler at ${server} is unavailable: ${details} (safe to retry in a moment)`,
            ExitCodes.unavailable,
            {
              cause: error,
            },
          );
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new CliError(
        `no answer from ${server} in time (raise --timeout; a submit is safe to retry, it is idempotent)`,
        ExitCodes.unavailable,
        { cause: error },
      );
    case GrpcStatus.UNIMPLEMENTED:
      return new CliError(
        `${server} does not implement this call (is it a Wharf scheduler of the same version?)`,
        ExitCodes.failure,
        {
          cause: error,
        },
      );
    case GrpcStatus.CANCELLED:
      return new CliError('cancelled', ExitCodes.failure, { cause: error });
    case GrpcStatus.INTERNAL:
    case GrpcStatus.UNKNOWN:
    case GrpcStatus.DATA_LOSS:
      return new CliError(
        `the server failed: ${details} (see the scheduler's logs)`,
        ExitCodes.failure,
        { cause: error },
      );
    default:
      return new CliError(
        `${GrpcStatus[error.code] ?? error.code}: ${details}`,
        ExitCodes.failure,
        { cause: error },
      );
  }
}
