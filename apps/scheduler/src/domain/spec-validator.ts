import { ExitCodeRule_Action, JobSpec as JobSpecCodec, type JobSpec, type SubmitJobRequest } from '@wharf/contracts';
import type { Violation } from '@wharf/platform';
import { deriveJobId, isValidJobId, specHash } from './job-identity';
import { parseCpu, parseMemory } from './quantity';
import type { Demand, QueueConfig } from './queue-config';
import { formatCpu, formatMemory } from './quantity';

/** Size and shape limits of a submitted spec. */
export interface SpecLimits {
  readonly maxSpecBytes: number;
  readonly maxItems: number;
  readonly maxItemBytes: number;
  readonly maxInputsBytes: number;
  readonly maxParallelism: number;
  readonly maxEnv: number;
  readonly maxAttempts: number;
  /** Allowed image prefixes (a registry, "registry/org/"); empty allows every image. */
  readonly imageAllowlist: readonly string[];
}

export const defaultSpecLimits: SpecLimits = {
  maxSpecBytes: 1024 * 1024,
  maxItems: 10_000,
  maxItemBytes: 64 * 1024,
  maxInputsBytes: 256 * 1024,
  maxParallelism: 1_000,
  maxEnv: 200,
  maxAttempts: 10,
  imageAllowlist: [],
};

/** A submit that passed validation: the id, the hash of the spec as sent, the spec with defaults. */
export interface ValidatedSubmit {
  readonly jobId: string;
  readonly specHash: string;
  /** The spec with queue and platform defaults filled in (what is stored and launched). */
  readonly spec: JobSpec;
  /** requests × parallelism, what admission counts against quota. */
  readonly demand: Demand;
}

export type ValidationResult =
  | { readonly ok: true; readonly value: ValidatedSubmit }
  | { readonly ok: false; readonly violations: readonly Violation[] };

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const reservedEnvPrefix = 'WHARF_';
const simAnnotationPrefix = 'wharf.dev/sim-';

function isReservedKey(key: string): boolean {
  const prefix = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
  return (
    prefix === 'kubernetes.io' ||
    prefix.endsWith('.kubernetes.io') ||
    prefix === 'k8s.io' ||
    prefix.endsWith('.k8s.io') ||
    prefix === 'wharf.dev' ||
    prefix.endsWith('.wharf.dev')
  );
}

function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return key.length <= 63 && labelName.test(key);
  const prefix = key.slice(0, slash);
  const name = key.slice(slash + 1);
  return prefix.length <= 253 && dnsSubdomain.test(prefix) && name.length <= 63 && labelName.test(name);
}

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * Validates a submit against the platform limits and its queue, listing every problem with its
 * field path (`spec.items[3]`), and fills in defaults. Pure: the caller looks the queue up
 * (undefined when it does not exist) and decides authorization separately.
 */
export function validateSubmit(
  request: SubmitJobRequest,
  queue: QueueConfig | undefined,
  limits: SpecLimits = defaultSpecLimits,
): ValidationResult {
  const violations: Violation[] = [];
  const add = (field: string, description: string): void => {
    violations.push({ field, description });
  };
  const spec = request.spec;
  if (!spec) return { ok: false, violations: [{ field: 'spec', description: 'required' }] };

  const key = request.idempotencyKey;
  if (key !== '' && !isValidJobId(key)) {
    add(
      'idempotency_key',
      'must be a DNS label: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    );
  }
  // JSON clients can smuggle NaN or fractions past the proto3 mapping.
  const integers: [string, number][] = [
    ['spec.parallelism', spec.parallelism],
    ['spec.priority', spec.priority],
    ['spec.active_deadline_seconds', spec.activeDeadlineSeconds],
    ['spec.resources.gpu', spec.resources?.gpu ?? 0],
    ['spec.retry.max_attempts', spec.retry?.maxAttempts ?? 0],
    ['spec.retry.backoff_seconds', spec.retry?.backoffSeconds ?? 0],
    ['spec.retry.backoff_limit_per_index', spec.retry?.backoffLimitPerIndex ?? 0],
  ];
  for (const [field, value] of integers) if (!Number.isSafeInteger(value)) add(field, 'must be an integer');
  // (Encoding a spec with such numbers would throw.)
  const size = violations.length > 0 ? 0 : JobSpecCodec.encode(spec).finish().length;
  if (size > limits.maxSpecBytes) {
    add('spec', `is ${size} bytes encoded; the limit is ${limits.maxSpecBytes}`);
  }

  if (spec.name.trim() === '') add('spec.name', 'required');
  else if (spec.name.length > 253) add('spec.name', 'at most 253 characters');

  if (spec.namespace === '') add('spec.namespace', 'required');
  else if (spec.namespace.length > 63 || !dnsLabel.test(spec.namespace)) add('spec.namespace', 'must be a DNS label');
  else if (queue && !queue.namespaces.includes(spec.namespace) && !queue.namespaces.includes('*')) {
    add('spec.namespace', `queue '${queue.name}' does not run jobs in namespace '${spec.namespace}'`);
  }

  if (spec.queue === '') add('spec.queue', 'required');
  else if (!queue) add('spec.queue', `no queue named '${spec.queue}'`);

  if (spec.image.trim() === '') add('spec.image', 'required');
  else if (/\s/.test(spec.image)) add('spec.image', 'must not contain whitespace');
  else if (limits.imageAllowlist.length > 0 && !limits.imageAllowlist.some((p) => spec.image.startsWith(p))) {
    add('spec.image', `not allowed; images must start with one of: ${limits.imageAllowlist.join(', ')}`);
  }

  spec.command.forEach((part, i) => {
    if (part.includes('\0')) add(`spec.command[${i}]`, 'must not contain NUL');
  });
  spec.args.forEach((part, i) => {
    if (part.includes('\0')) add(`spec.args[${i}]`, 'must not contain NUL');
  });

  const envNames = new Set<string>();
  const envEntries = Object.entries(spec.env);
  if (envEntries.length + spec.secrets.length > limits.maxEnv) {
    add('spec.env', `at most ${limits.maxEnv} variables (env and secrets together)`);
  }
  for (const [name] of envEntries) {
    if (!envName.test(name)) add(`spec.env[${name}]`, 'not a valid environment variable name');
    else if (name.startsWith(reservedEnvPrefix)) add(`spec.env[${name}]`, `names starting with ${reservedEnvPrefix} are reserved`);
    envNames.add(name);
  }

  if (spec.items.length > limits.maxItems) {
    add('spec.items', `${spec.items.length} items; the limit is ${limits.maxItems}`);
  } else {
    spec.items.forEach((item, i) => {
      const bytes = byteLength(item);
      if (bytes > limits.maxItemBytes) add(`spec.items[${i}]`, `is ${bytes} bytes; the limit is ${limits.maxItemBytes}`);
    });
  }
  if (spec.inputs !== undefined) {
    const bytes = byteLength(JSON.stringify(spec.inputs));
    if (bytes > limits.maxInputsBytes) add('spec.inputs', `is ${bytes} bytes as JSON; the limit is ${limits.maxInputsBytes}`);
  }

  spec.secrets.forEach((secret, i) => {
    const at = `spec.secrets[${i}]`;
    if (!envName.test(secret.env)) add(`${at}.env`, 'not a valid environment variable name');
    else if (secret.env.startsWith(reservedEnvPrefix)) add(`${at}.env`, `names starting with ${reservedEnvPrefix} are reserved`);
    else if (envNames.has(secret.env)) add(`${at}.env`, `'${secret.env}' is already set by env or another secret`);
    envNames.add(secret.env);
    const hasValue = secret.value !== undefined;
    const hasRef = secret.secretRef !== undefined;
    if (hasValue === hasRef) add(at, 'set exactly one of value and secret_ref');
    if (secret.secretRef) {
      if (!dnsSubdomain.test(secret.secretRef.name)) add(`${at}.secret_ref.name`, 'must be a Kubernetes object name');
      if (secret.secretRef.key === '') add(`${at}.secret_ref.key`, 'required');
    }
  });

  const cpu = parseCpu(spec.resources?.cpu ?? '');
  const memory = parseMemory(spec.resources?.memory ?? '');
  const gpu = spec.resources?.gpu ?? 0;
  if (cpu === undefined) add('spec.resources.cpu', `not a CPU quantity: '${spec.resources?.cpu ?? ''}'`);
  if (memory === undefined) add('spec.resources.memory', `not a memory quantity: '${spec.resources?.memory ?? ''}'`);
  if (gpu < 0) add('spec.resources.gpu', 'must not be negative');

  if (spec.parallelism < 0) add('spec.parallelism', 'must not be negative');
  else if (spec.parallelism > limits.maxParallelism) add('spec.parallelism', `at most ${limits.maxParallelism}`);
  const parallelism = Math.max(1, spec.parallelism);

  let deadline = spec.activeDeadlineSeconds;
  if (deadline < 0) add('spec.active_deadline_seconds', 'must not be negative');
  if (queue) {
    if (deadline === 0) deadline = queue.defaultActiveDeadlineSeconds;
    if (deadline > queue.maxActiveDeadlineSeconds) {
      add(
        'spec.active_deadline_seconds',
        `${deadline} s is above the maximum pod lifetime of queue '${queue.name}' (${queue.maxActiveDeadlineSeconds} s)`,
      );
    }
  }

  const retry = spec.retry;
  if (retry) {
    if (retry.backoffLimitPerIndex < 0 || retry.backoffLimitPerIndex > 100) {
      add('spec.retry.backoff_limit_per_index', 'must be between 0 and 100');
    }
    if (retry.maxAttempts < 0 || retry.maxAttempts > limits.maxAttempts) {
      add('spec.retry.max_attempts', `must be between 0 and ${limits.maxAttempts}`);
    }
    if (retry.backoffSeconds < 0 || retry.backoffSeconds > 3_600) add('spec.retry.backoff_seconds', 'must be between 0 and 3600');
    retry.exitCodeRules.forEach((rule, i) => {
      const at = `spec.retry.exit_code_rules[${i}]`;
      if (rule.action === ExitCodeRule_Action.ACTION_UNSPECIFIED || rule.action === ExitCodeRule_Action.UNRECOGNIZED) {
        add(`${at}.action`, 'required: ACTION_FAIL_JOB, ACTION_IGNORE or ACTION_FAIL_INDEX');
      }
      if (rule.action === ExitCodeRule_Action.ACTION_FAIL_INDEX && retry.backoffLimitPerIndex === 0 && spec.items.length === 0) {
        add(`${at}.action`, 'ACTION_FAIL_INDEX needs items (an Indexed Job)');
      }
      if (rule.exitCodes.length === 0) add(`${at}.exit_codes`, 'required');
      rule.exitCodes.forEach((code, j) => {
        if (code < 1 || code > 255) add(`${at}.exit_codes[${j}]`, 'exit codes are 1..255');
      });
    });
  }

  for (const [name, value] of Object.entries(spec.labels)) {
    if (!isQualifiedName(name)) add(`spec.labels[${name}]`, 'not a valid label name');
    else if (isReservedKey(name)) add(`spec.labels[${name}]`, 'labels under kubernetes.io, k8s.io and wharf.dev are reserved');
    if (value.length > 63 || !labelValue.test(value)) add(`spec.labels[${name}]`, 'not a valid label value');
  }
  for (const [name] of Object.entries(spec.annotations)) {
    if (!isQualifiedName(name)) add(`spec.annotations[${name}]`, 'not a valid annotation name');
    else if (isReservedKey(name) && !name.startsWith(simAnnotationPrefix)) {
      add(`spec.annotations[${name}]`, 'annotations under kubernetes.io, k8s.io and wharf.dev are reserved');
    }
  }
  spec.volumes.forEach((volume, i) => {
    if (!dnsSubdomain.test(volume.claimName)) add(`spec.volumes[${i}].claim_name`, 'must be a Kubernetes object name');
    if (!volume.mountPath.startsWith('/')) add(`spec.volumes[${i}].mount_path`, 'must be an absolute path');
  });
  if (spec.serviceAccount !== '' && !dnsSubdomain.test(spec.serviceAccount)) {
    add('spec.service_account', 'must be a Kubernetes object name');
  }

  const demand: Demand = { cpu: (cpu ?? 0) * parallelism, memory: (memory ?? 0) * parallelism, gpu: Math.max(0, gpu) * parallelism };
  if (queue) {
    const quota = queue.quota;
    if (quota.cpu !== undefined && quota.cpu > 0 && demand.cpu > quota.cpu) {
      add('spec.resources.cpu', `the job needs ${formatCpu(demand.cpu)} (requests × parallelism) but queue '${queue.name}' has a quota of ${formatCpu(quota.cpu)}: it could never run`);
    }
    if (quota.memory !== undefined && quota.memory > 0 && demand.memory > quota.memory) {
      add('spec.resources.memory', `the job needs ${formatMemory(demand.memory)} (requests × parallelism) but queue '${queue.name}' has a quota of ${formatMemory(quota.memory)}: it could never run`);
    }
    if (quota.gpu !== undefined && quota.gpu > 0 && demand.gpu > quota.gpu) {
      add('spec.resources.gpu', `the job needs ${demand.gpu} GPU (requests × parallelism) but queue '${queue.name}' has a quota of ${quota.gpu}: it could never run`);
    }
  }

  if (violations.length > 0) return { ok: false, violations };
  const hash = specHash(spec);
  const normalized: JobSpec = {
    ...spec,
    parallelism,
    activeDeadlineSeconds: deadline,
    retry: {
      backoffLimitPerIndex: retry?.backoffLimitPerIndex ?? 0,
      exitCodeRules: retry?.exitCodeRules ?? [],
      maxAttempts: Math.max(1, retry?.maxAttempts ?? 1),
      backoffSeconds: retry && retry.backoffSeconds > 0 ? retry.backoffSeconds : 10,
    },
  };
  return {
    ok: true,
    value: { jobId: key !== '' ? key : deriveJobId(spec.name, hash), specHash: hash, spec: normalized, demand },
  };
}

/** requests × parallelism of a stored (normalized) spec. */
export function demandOf(spec: JobSpec | undefined): Demand {
  return demandOfResources(spec?.resources?.cpu ?? '', spec?.resources?.memory ?? '', spec?.resources?.gpu ?? 0, spec?.parallelism ?? 1);
}

/** Parsed quantities by text: a store of many jobs holds few distinct requests. */
const parsedCpu = new Map<string, number>();
const parsedMemory = new Map<string, number>();

function cached(cache: Map<string, number>, text: string, parse: (text: string) => number | undefined): number {
  let value = cache.get(text);
  if (value === undefined) {
    value = parse(text) ?? 0;
    if (cache.size >= 10_000) cache.clear();
    cache.set(text, value);
  }
  return value;
}

/** requests × parallelism from the resource fields of a stored spec (parallelism below 1 counts as 1). */
export function demandOfResources(cpu: string, memory: string, gpu: number, parallelism: number): Demand {
  const p = Math.max(1, parallelism);
  return { cpu: cached(parsedCpu, cpu, parseCpu) * p, memory: cached(parsedMemory, memory, parseMemory) * p, gpu: Math.max(0, gpu) * p };
}
