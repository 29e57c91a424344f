import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CliError, ExitCodes } from './cli-errors';

/**
 * The CLI's settings, each from (lowest first) the default, the config file
 * (`~/.config/wharf/config.yaml`, or `$XDG_CONFIG_HOME/wharf/config.yaml`, or --config /
 * WHARF_CLI_CONFIG), the environment, then flags.
 */
export const cliConfigSchema = z
  .object({
    server: z
      .string()
      .min(1)
      .default('127.0.0.1:50051')
      .describe('Address of the scheduler gRPC API (host:port).'),
    token: z.string().optional().describe('Bearer token sent with every call.'),
    tls: z.boolean().default(false).describe('Use TLS to reach the server.'),
    caFile: z
      .string()
      .optional()
      .describe('PEM file of the CA that signed the server certificate (implies tls).'),
    output: z.enum(['table', 'json', 'yaml']).default('table').describe('Output format.'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(15_000)
      .describe('Deadline of each unary call, in milliseconds.'),
  })
  .strict();
export type CliConfig = Readonly<z.infer<typeof cliConfigSchema>>;

/** Environment variable of each setting. */
export const CliEnv = {
  server: 'WHARF_SERVER',
  token: 'WHARF_TOKEN',
  tls: 'WHARF_TLS',
  caFile: 'WHARF_CA_FILE',
  output: 'WHARF_OUTPUT',
  timeoutMs: 'WHARF_TIMEOUT_MS',
  configFile: 'WHARF_CLI_CONFIG',
} as const;

export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Global flags as commander parsed them (undefined when not given). */
  readonly flags: {
    server?: string;
    token?: string;
    tls?: boolean;
    caFile?: string;
    output?: string;
    timeout?: string;
    config?: string;
  };
  readonly homeDir?: string;
  /** Reads a file; undefined when it does not exist. */
  readonly readFile: (path: string) => string | undefined;
}

export function defaultConfigPath(env: ConfigSources['env'], home = homedir()): string {
  const base = env['XDG_CONFIG_HOME'] || join(home, '.config');
  return join(base, 'wharf', 'config.yaml');
}

/** Thrown: CliError (usage) listing every problem of the file, environment and flags. */
export function resolveCliConfig(sources: ConfigSources): CliConfig {
  const { env, flags } = sources;
  const explicitPath = flags.config ?? env[CliEnv.configFile];
  const path = explicitPath ?? defaultConfigPath(env, sources.homeDir);
  const merged: Record<string, unknown> = {};
  const text = sources.readFile(path);
  if (text === undefined && explicitPath) {
    throw new CliError(`config file ${path} does not exist`, ExitCodes.usage);
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (error) {
      throw new CliError(
        `config file ${path} is not valid YAML: ${(error as Error).message}`,
        ExitCodes.usage,
      );
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new CliError(
          `config file ${path} must hold a mapping (server: …, token: …)`,
          ExitCodes.usage,
        );
      }
      Object.assign(merged, parsed);
    }
  }
  const fromEnv: Record<string, unknown> = {
    server: env[CliEnv.server],
    token: env[CliEnv.token],
    tls: parseBool(env[CliEnv.tls]),
    caFile: env[CliEnv.caFile],
    output: env[CliEnv.output],
    timeoutMs: env[CliEnv.timeoutMs] === undefined ? undefined : Number(env[CliEnv.timeoutMs]),
  };
  const fromFlags: Record<string, unknown> = {
    server: flags.server,
    token: flags.token,
    tls: flags.tls,
    caFile: flags.caFile,
    output: flags.output,
    timeoutMs: flags.timeout === undefined ? undefined : Number(flags.timeout),
  };
  for (const layer of [fromEnv, fromFlags]) {
    for (const [key, value] of Object.entries(layer))
      if (value !== undefined && value !== '') merged[key] = value;
  }
  const result = cliConfigSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `  - ${i.path.join('.') || '(file)'}: ${i.message}`,
    );
    throw new CliError(
      `invalid settings (from ${path}, WHARF_* variables or flags):\n${problems.join('\n')}`,
      ExitCodes.usage,
    );
  }
  const config = result.data;
  return Object.freeze({ ...config, tls: config.tls || Boolean(config.caFile) });
}

function parseBool(raw: string | undefined): boolean | string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  return raw;
}
