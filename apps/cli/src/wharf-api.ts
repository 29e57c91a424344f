import { createGrpcApi as createClient, type WharfApi } from '@wharf/client';
import type { CliConfig } from './cli-config';
import { describeGrpcError } from './cli-errors';

/** What the commands need from the scheduler: Wharf's public API (@wharf/client). */
export type { WharfApi };

export interface GrpcApiOptions {
  readonly config: CliConfig;
  /** Reads the CA file (injected in tests). */
  readonly readFile: (path: string) => Buffer;
}

/** The CLI's client: its config's server, token, TLS and timeout; errors as CliErrors. */
export function createGrpcApi({ config, readFile }: GrpcApiOptions): WharfApi {
  return createClient({
    server: config.server,
    token: config.token,
    tls: config.tls,
    ca: config.tls && config.caFile ? readFile(config.caFile) : undefined,
    unaryTimeoutMs: config.timeoutMs,
    describeError: (error) => describeGrpcError(error, config.server),
  });
}
