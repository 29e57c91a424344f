import { JobSpec, type SubmitJobRequest } from '@wharf/contracts';
import { parse as parseYaml } from 'yaml';
import { CliError, ExitCodes } from './cli-errors';
import { messageFromJson } from './proto-json';

/** Job ids (and so idempotency keys) are DNS labels, usable as Kubernetes label values. */
export const JOB_ID_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `wharf submit` flags, as commander parses them (repeatable flags are arrays). */
export interface SubmitFlags {
  file?: string;
  id?: string;
  name?: string;
  image?: string;
  namespace?: string;
  queue?: string;
  priority?: string;
  parallelism?: string;
  item?: string[];
  itemsFile?: string;
  env?: string[];
  secret?: string[];
  secretEnv?: string[];
  secretRef?: string[];
  label?: string[];
  annotation?: string[];
  input?: string[];
  inputsJson?: string;
  cpu?: string;
  memory?: string;
  gpu?: string;
  deadline?: string;
  maxAttempts?: string;
  backoffLimitPerIndex?: string;
  serviceAccount?: string;
}

export interface SpecSources {
  readonly flags: SubmitFlags;
  /** Words after `--`: the command and its arguments. */
  readonly command: readonly string[];
  readonly readFile: (path: string) => string;
  /** For --secret-env: the CLI's own environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

function pairs(
  values: readonly string[] | undefined,
  flag: string,
  separator = '=',
): [string, string][] {
  return (values ?? []).map((raw) => {
    const at = raw.indexOf(separator);
    if (at <= 0)
      throw new CliError(`--${flag} expects KEY${separator}VALUE, got '${raw}'`, ExitCodes.usage);
    return [raw.slice(0, at), raw.slice(at + 1)];
  });
}

function integer(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim()))
    throw new CliError(`--${flag} expects a whole number, got '${raw}'`, ExitCodes.usage);
  return Number(raw);
}

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Parses a YAML or JSON document holding one JobSpec (proto3 JSON field names). */
export function parseSpecFile(text: string, path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new CliError(
      `${path}: not valid YAML or JSON: ${(error as Error).message}`,
      ExitCodes.usage,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(
      `${path}: expected a mapping of JobSpec fields (name, image, command, items, …)`,
      ExitCodes.usage,
    );
  }
  // Top-level keys are field names (never map keys), so snake_case can be normalised here;
  // maps below (env, labels, inputs) keep their keys.
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [camel(k), v]));
}

/**
 * The SubmitJobRequest for `wharf submit`: the file's spec (if any), then each flag given
 * overriding or extending it, validated by the proto3 JSON mapping. Thrown: CliError (usage).
 */
export function buildSubmitRequest(sources: SpecSources): SubmitJobRequest {
  const { flags } = sources;
  const spec: Record<string, unknown> = flags.file
    ? parseSpecFile(sources.readFile(flags.file), flags.file)
    : {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) spec[key] = value;
  };
  const mergeMap = (key: string, entries: [string, string][]) => {
    if (entries.length === 0) return;
    const current = (spec[key] && typeof spec[key] === 'object' ? spec[key] : {}) as Record<
      string,
      unknown
    >;
    spec[key] = { ...current, ...Object.fromEntries(entries) };
  };

  set('name', flags.name);
  set('image', flags.image);
  set('namespace', flags.namespace);
  set('queue', flags.queue);
  set('priority', integer(flags.priority, 'priority'));
  set('parallelism', integer(flags.parallelism, 'parallelism'));
  set('activeDeadlineSeconds', integer(flags.deadline, 'deadline'));
  set('serviceAccount', flags.serviceAccount);
  if (sources.command.length > 0) {
    spec['command'] = [...sources.command];
    delete spec['args'];
  }
  const items = [
    ...(flags.itemsFile
      ? sources
          .readFile(flags.itemsFile)
          .split('\n')
          .filter((l) => l.trim() !== '')
      : []),
    ...(flags.item ?? []),
  ];
  if (items.length) spec['items'] = items;
  mergeMap('env', pairs(flags.env, 'env'));
  mergeMap('labels', pairs(flags.label, 'label'));
  mergeMap('annotations', pairs(flags.annotation, 'annotation'));

  if (flags.inputsJson !== undefined) {
    try {
      spec['inputs'] = JSON.parse(flags.inputsJson) as unknown;
    } catch {
      throw new CliError('--inputs-json expects a JSON object', ExitCodes.usage);
    }
  }
  const inputs = pairs(flags.input, 'input');
  if (inputs.length) {
    const current = (
      spec['inputs'] && typeof spec['inputs'] === 'object' ? spec['inputs'] : {}
    ) as Record<string, unknown>;
    spec['inputs'] = {
      ...current,
      ...Object.fromEntries(inputs.map(([k, v]) => [k, jsonOrString(v)])),
    };
  }

  const secrets: unknown[] = Array.isArray(spec['secrets'])
    ? [...(spec['secrets'] as unknown[])]
    : [];
  for (const [env, value] of pairs(flags.secret, 'secret')) secrets.push({ env, value });
  for (const env of flags.secretEnv ?? []) {
    const value = sources.env[env];
    if (value === undefined)
      throw new CliError(`--secret-env ${env}: ${env} is not set in this shell`, ExitCodes.usage);
    secrets.push({ env, value });
  }
  for (const [env, ref] of pairs(flags.secretRef, 'secret-ref')) {
    const [name, key] = ref.split('/');
    if (!name || !key)
      throw new CliError(
        `--secret-ref expects ENV=secret-name/key, got '${env}=${ref}'`,
        ExitCodes.usage,
      );
    secrets.push({ env, secretRef: { name, key } });
  }
  if (secrets.length) spec['secrets'] = secrets;

  if (flags.cpu !== undefined || flags.memory !== undefined || flags.gpu !== undefined) {
    const current = (
      spec['resources'] && typeof spec['resources'] === 'object' ? spec['resources'] : {}
    ) as Record<string, unknown>;
    spec['resources'] = {
      ...current,
      ...(flags.cpu !== undefined ? { cpu: flags.cpu } : {}),
      ...(flags.memory !== undefined ? { memory: flags.memory } : {}),
      ...(flags.gpu !== undefined ? { gpu: integer(flags.gpu, 'gpu') } : {}),
    };
  }
  if (flags.maxAttempts !== undefined || flags.backoffLimitPerIndex !== undefined) {
    const current = (
      spec['retry'] && typeof spec['retry'] === 'object' ? spec['retry'] : {}
    ) as Record<string, unknown>;
    spec['retry'] = {
      ...current,
      ...(flags.maxAttempts !== undefined
        ? { maxAttempts: integer(flags.maxAttempts, 'max-attempts') }
        : {}),
      ...(flags.backoffLimitPerIndex !== undefined
        ? { backoffLimitPerIndex: integer(flags.backoffLimitPerIndex, 'backoff-limit-per-index') }
        : {}),
    };
  }

  const message = messageFromJson(JobSpec, 'wharf.v1.JobSpec', spec, flags.file ?? 'job spec');
  const problems: string[] = [];
  if (!message.image) problems.push('an image is required (--image or `image:` in the file)');
  if (!message.name) problems.push('a name is required (--name or `name:` in the file)');
  if (flags.id !== undefined && (!JOB_ID_PATTERN.test(flags.id) || flags.id.length > 63)) {
    problems.push(
      `--id '${flags.id}' must be a DNS label: lowercase letters, digits and '-', at most 63 characters`,
    );
  }
  if (problems.length)
    throw new CliError(
      `cannot submit:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      ExitCodes.usage,
    );
  return { spec: message, idempotencyKey: flags.id ?? '' };
}

function jsonOrString(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
