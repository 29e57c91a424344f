import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidArgumentError, type Violation } from './errors';

/**
 * Layered configuration: defaults (in the schema) < YAML file < environment < CLI flags.
 *
 * Each service declares every setting once, in a zod object schema whose leaves carry
 * `.default()` and `.describe()`. From the schema we derive the environment variable
 * (`WHARF_KAFKA_BROKERS` for `kafka.brokers`) and the flag (`--kafka.brokers`) of every leaf,
 * so nothing is declared twice and `process.env` is read nowhere else.
 */
export interface ConfigInput {
  /** Usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Usually `process.argv.slice(2)`. `--config <file>` names the YAML file. */
  readonly argv: readonly string[];
  /** @default 'WHARF' */
  readonly envPrefix?: string;
  /** Reads the YAML file; injected in tests. @default fs.readFileSync */
  readonly readFile?: (path: string) => string;
}

export interface SettingDoc {
  readonly path: string;
  readonly env: string;
  readonly flag: string;
  readonly type: string;
  readonly default: unknown;
  readonly description: string;
}

type Leaf = { readonly path: readonly string[]; readonly schema: z.ZodType };

/** Returned by {@link coerce} when the raw value was unusable (the problem is recorded). */
const unusable = Symbol('unusable');

/** Thrown when configuration is invalid; lists every problem at once. */
export class ConfigError extends InvalidArgumentError {
  override readonly name: string = 'ConfigError';
}

/** Loads, validates and deep-freezes a service's configuration. */
export function loadConfig<S extends z.ZodObject>(schema: S, input: ConfigInput): Readonly<z.infer<S>> {
  const prefix = input.envPrefix ?? 'WHARF';
  const leaves = leavesOf(schema);
  const problems: Violation[] = [];
  const { configFile, flags } = parseArgv(input.argv, problems);
  const file = configFile ?? input.env[`${prefix}_CONFIG`];

  let merged: Record<string, unknown> = {};
  if (file) {
    try {
      const text = (input.readFile ?? ((p) => readFileSync(p, 'utf8')))(file);
      const parsed: unknown = parseYaml(text) ?? {};
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push({ field: file, description: 'the config file must hold a YAML mapping' });
      } else {
        merged = parsed as Record<string, unknown>;
      }
    } catch (error) {
      problems.push({ field: file, description: `cannot read config file: ${(error as Error).message}` });
    }
  }

  const byFlag = new Map(leaves.map((leaf) => [leaf.path.join('.'), leaf]));
  for (const leaf of leaves) {
    const name = envName(prefix, leaf.path);
    const raw = input.env[name];
    if (raw !== undefined && raw !== '') {
      const value = coerce(raw, leaf.schema, `env ${name}`, problems);
      if (value !== unusable) setPath(merged, leaf.path, value);
    }
  }
  for (const [flag, raw] of flags) {
    const leaf = byFlag.get(flag);
    if (!leaf) {
      problems.push({ field: `--${flag}`, description: 'unknown flag' });
      continue;
    }
    const value = coerce(raw, leaf.schema, `flag --${flag}`, problems);
    if (value !== unusable) setPath(merged, leaf.path, value);
  }

  const result = schema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      const leaf = byFlag.get(path.join('.'));
      const where = leaf ? ` (env ${envName(prefix, leaf.path)}, flag --${path.join('.')})` : '';
      problems.push({ field: `${path.join('.')}${where}`, description: issue.message });
    }
  }
  if (problems.length > 0) throw new ConfigError('invalid configuration', problems);
  return deepFreeze(result.data as z.infer<S>);
}

/** One row per setting: for `--help` output and the configuration reference in docs. */
export function describeConfig(schema: z.ZodObject, envPrefix = 'WHARF'): SettingDoc[] {
  return leavesOf(schema).map((leaf) => {
    const path = leaf.path.join('.');
    const parsedDefault = leaf.schema.safeParse(undefined);
    return {
      path,
      env: envName(envPrefix, leaf.path),
      flag: `--${path}`,
      type: kindOf(leaf.schema),
      default: parsedDefault.success ? parsedDefault.data : undefined,
      description: leaf.schema.description ?? '',
    };
  });
}

export function envName(prefix: string, path: readonly string[]): string {
  const snake = path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase());
  return [prefix, ...snake].join('_');
}

function leavesOf(schema: z.ZodObject, prefix: readonly string[] = []): Leaf[] {
  const leaves: Leaf[] = [];
  for (const [key, child] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const inner = unwrap(child);
    if (inner instanceof z.ZodObject) leaves.push(...leavesOf(inner, [...prefix, key]));
    else leaves.push({ path: [...prefix, key], schema: child });
  }
  return leaves;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  while (
    current instanceof z.ZodDefault ||
    current instanceof z.ZodOptional ||
    current instanceof z.ZodNullable ||
    current instanceof z.ZodPrefault
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function kindOf(schema: z.ZodType): string {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodNumber) return 'number';
  if (inner instanceof z.ZodBoolean) return 'boolean';
  if (inner instanceof z.ZodArray) return 'list';
  if (inner instanceof z.ZodEnum) return inner.options.join(' | ');
  if (inner instanceof z.ZodRecord || inner instanceof z.ZodObject) return 'json';
  return 'string';
}

/** Environment and flag values are strings; give them the leaf's type. */
function coerce(raw: string, schema: z.ZodType, source: string, problems: Violation[]): unknown {
  const inner = unwrap(schema);
  const kind = kindOf(schema);
  if (kind === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || Number.isNaN(value)) {
      problems.push({ field: source, description: `expected a number, got '${raw}'` });
      return unusable;
    }
    return value;
  }
  if (kind === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    problems.push({ field: source, description: `expected true or false, got '${raw}'` });
    return unusable;
  }
  if (kind === 'json' || (inner instanceof z.ZodArray && raw.trim().startsWith('['))) {
    try {
      return JSON.parse(raw);
    } catch {
      problems.push({ field: source, description: 'expected JSON' });
      return unusable;
    }
  }
  if (inner instanceof z.ZodArray) {
    const element = kindOf(inner.element as z.ZodType);
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    return element === 'number' ? items.map(Number) : items;
  }
  return raw;
}

function parseArgv(argv: readonly string[], problems: Violation[]) {
  const flags: [string, string][] = [];
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      problems.push({ field: arg, description: 'unexpected argument (flags look like --kafka.brokers=host:9092)' });
      continue;
    }
    const eq = arg.indexOf('=');
    let name: string;
    let value: string | undefined;
    if (eq >= 0) {
      name = arg.slice(2, eq);
      value = arg.slice(eq + 1);
    } else {
      name = arg.slice(2);
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      } else {
        value = 'true';
      }
    }
    if (name === 'config') configFile = value;
    else flags.push([name, value]);
  }
  return { configFile, flags };
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
