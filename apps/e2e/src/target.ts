import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Where the scenarios run: the scheduler's gRPC address and the bearer token. */
export interface Target {
  readonly server: string;
  readonly token: string;
  readonly tls: boolean;
  readonly caFile?: string;
  /** Where server and token came from, for the header line. */
  readonly source: string;
}

export interface TargetSources {
  readonly flags: { server?: string; token?: string; tls?: boolean; caFile?: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The repository root (the quickstart's files are under <root>/.wharf/stack). */
  readonly root: string;
  /** Reads a file; undefined when it does not exist. */
  readonly readFile: (path: string) => string | undefined;
  /** Whether a process is running. */
  readonly alive: (pid: number) => boolean;
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

const startFirst =
  'start Wharf first with `npm run quickstart` (it leaves the local stack and the four services running), ' +
  'or point the runner at a running scheduler with --server host:port --token … (or WHARF_SERVER / WHARF_TOKEN)';

/** The quickstart's stack directory, as tools/quickstart/quickstart.ts computes it. */
export function stackDir(sources: Pick<TargetSources, 'env' | 'root'>): string {
  return sources.env['WHARF_STACK_DIR'] || join(sources.root, '.wharf/stack');
}

/**
 * What `npm run quickstart` left running: the scheduler's address from the config file it
 * wrote (<stack>/quickstart/scheduler.yaml, `grpc.host`/`grpc.port`) and the token from
 * <stack>/quickstart/token, provided the scheduler it recorded in <stack>/services.json is
 * still alive. Thrown: TargetError saying what is missing and what to run.
 */
export function quickstartTarget(sources: TargetSources): { server: string; token: string } {
  const dir = stackDir(sources);
  const servicesFile = join(dir, 'services.json');
  const services = sources.readFile(servicesFile);
  if (services === undefined) {
    throw new TargetError(
      `no Wharf to test: WHARF_SERVER is not set and no quickstart is running (no ${servicesFile});\n${startFirst}`,
    );
  }
  let scheduler: { pid?: unknown } | undefined;
  try {
    scheduler = (JSON.parse(services) as { name?: string; pid?: unknown }[]).find(
      (s) => s.name === 'scheduler',
    );
  } catch {
    scheduler = undefined;
  }
  if (!scheduler || typeof scheduler.pid !== 'number' || !sources.alive(scheduler.pid)) {
    throw new TargetError(
      `the quickstart's scheduler is not running (per ${servicesFile});\n${startFirst}`,
    );
  }
  const configFile = join(dir, 'quickstart', 'scheduler.yaml');
  const config = sources.readFile(configFile);
  const grpc =
    config === undefined
      ? undefined
      : (parseYaml(config) as { grpc?: { host?: string; port?: number } } | null)?.grpc;
  if (!grpc?.port)
    throw new TargetError(`cannot find the scheduler's gRPC port in ${configFile};\n${startFirst}`);
  const tokenFile = join(dir, 'quickstart', 'token');
  const token = sources.readFile(tokenFile)?.trim();
  if (!token)
    throw new TargetError(`cannot read the quickstart's token (${tokenFile});\n${startFirst}`);
  return { server: `${grpc.host || '127.0.0.1'}:${grpc.port}`, token };
}

function parseBool(raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw === '') return undefined;
  return /^(true|1|yes|on)$/i.test(raw);
}

/**
 * Server and token, each from (highest first) the flags, WHARF_SERVER / WHARF_TOKEN (as for the
 * CLI), else what the quickstart left running. TLS from --tls / --ca-file or WHARF_TLS /
 * WHARF_CA_FILE.
 */
export function resolveTarget(sources: TargetSources): Target {
  const { flags, env } = sources;
  const server = flags.server || env['WHARF_SERVER'] || undefined;
  const token = flags.token || env['WHARF_TOKEN'] || undefined;
  const caFile = flags.caFile || env['WHARF_CA_FILE'] || undefined;
  const tls = Boolean(flags.tls ?? parseBool(env['WHARF_TLS'])) || Boolean(caFile);
  const transport = { tls, ...(caFile ? { caFile } : {}) };
  if (server) {
    if (token)
      return { server, token, ...transport, source: flags.server ? '--server' : 'WHARF_SERVER' };
    // A server but no token: the quickstart's token if that is the quickstart's server.
    let quick: { server: string; token: string } | undefined;
    try {
      quick = quickstartTarget(sources);
    } catch {
      quick = undefined;
    }
    if (quick && quick.server === server)
      return { server, token: quick.token, ...transport, source: 'quickstart token' };
    // No token at all: calls go without one (as with the CLI), for a scheduler without auth.
    return {
      server,
      token: '',
      ...transport,
      source: `${flags.server ? '--server' : 'WHARF_SERVER'}, no token`,
    };
  }
  const quick = quickstartTarget(sources);
  return {
    server: quick.server,
    token: token ?? quick.token,
    ...transport,
    source: `the running quickstart (${stackDir(sources)})`,
  };
}
