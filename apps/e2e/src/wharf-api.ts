import { readFileSync } from 'node:fs';
import { status, type ServiceError } from '@grpc/grpc-js';
import { createGrpcApi as createClient, type WharfApi as ClientApi } from '@wharf/client';
import type { Target } from './target';

/** What the runner needs of Wharf: the public gRPC API, nothing else. */
export type WharfApi = Pick<
  ClientApi,
  | 'submitJob'
  | 'cancelJob'
  | 'watchJob'
  | 'submitWorkflow'
  | 'getWorkflow'
  | 'cancelWorkflow'
  | 'watchWorkflow'
>;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

/** A gRPC error as one line: `NOT_FOUND: no job 'x'`. */
export function describeError(error: ServiceError, server: string): ApiError {
  const name = status[error.code] ?? `code ${error.code}`;
  const hint =
    error.code === status.UNAVAILABLE
      ? ` (is the scheduler at ${server} running? start it with \`npm run quickstart\`)`
      : error.code === status.UNAUTHENTICATED
        ? ' (check --token / WHARF_TOKEN)'
        : '';
  return new ApiError(`${name}: ${error.details || error.message}${hint}`, error.code);
}

export interface GrpcApi extends WharfApi {
  /** Resolves once the channel is connected; thrown: ApiError after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  close(): void;
}

/** The runner's client (@wharf/client) for the target; errors as ApiErrors. */
export function createGrpcApi(target: Target, unaryTimeoutMs = 15_000): GrpcApi {
  const api = createClient({
    server: target.server,
    token: target.token,
    tls: target.tls,
    ca: target.tls && target.caFile ? readFileSync(target.caFile) : undefined,
    unaryTimeoutMs,
    describeError: (error) => describeError(error, target.server),
  });
  return {
    ...api,
    waitForReady: (timeoutMs) =>
      api.waitForReady(timeoutMs).catch((error: Error) => {
        throw new ApiError(
          `cannot reach the scheduler at ${target.server} within ${timeoutMs / 1000} s (${error.message}); is it running? \`npm run quickstart\` starts one`,
          status.UNAVAILABLE,
        );
      }),
  };
}
