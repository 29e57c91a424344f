import { ExitCodeRule_Action, type CancelRun, type JobSpec, type LaunchRun } from '@wharf/contracts';
import type { Violation } from '@wharf/platform';
import { isDnsLabel, isDnsSubdomain, isJobId } from './launch-names';

/**
 * What the launcher accepts. The scheduler validates submissions too; the launcher checks
 * every command again (defence in depth), because anyone able to write to `wharf.launch`
 * could otherwise run any pod in the cluster.
 */
export interface LaunchPolicy {
  /** Namespaces Jobs may be created in. */
  readonly namespaces: readonly string[];
  /** Image patterns (`*` is a wildcard) matched against the normalized reference
   * (`docker.io/library/busybox:latest`). `*` alone allows every image. */
  readonly images: readonly string[];
  /** Service accounts pods may run as (`*`: any); an empty spec.serviceAccount means the
   * namespace's `default`. */
  readonly serviceAccounts: readonly string[];
  readonly maxItems: number;
  readonly maxParallelism: number;
  /**
   * inputs.json + all items, in bytes (16 counted per item on top), over all the run's inputs
   * ConfigMaps together: the renderer splits them into chunks of `render.inputsChunkBytes`.
   */
  readonly maxConfigBytes: number;
  /** Sum of inline secret values, in bytes. */
  readonly maxSecretBytes: number;
  readonly maxActiveDeadlineSeconds: number;
  readonly maxBackoffLimitPerIndex: number;
}

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Kubernetes quantity, e.g. 500m, 1.5, 2Gi, 1e3. */
const quantityPattern = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|[KMGTPE]i?|[munkMGTPE])?$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const qualifiedNamePattern = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** OCI reference characters; parsed further by normalizeImage. */
const imagePattern = /^[a-z0-9][a-z0-9._\-/:@]*$/i;

/** Env names the launcher sets itself. */
const reservedEnv = /^(WHARF_.*|JOB_COMPLETION_INDEX)$/;
/** Label and annotation prefixes owned by Kubernetes and Wharf. KWOK's `wharf.dev/sim-*` are the
 * documented exception (they steer simulated containers in local clusters, nothing else). */
const reservedKeyPrefix = /^([a-z0-9.-]*\.)?(kubernetes\.io|k8s\.io|wharf\.dev)\//;
const simAnnotation = /^wharf\.dev\/sim-[a-z0-9-]+$/;
/** Paths the launcher mounts, and paths no job may shadow. */
const reservedMountPaths = ['/var/run/wharf', '/var/run/secrets', '/proc', '/sys', '/dev'];

/** `busybox` → `docker.io/library/busybox:latest`; undefined when it is no valid reference. */
export function normalizeImage(image: string): string | undefined {
  if (image.length === 0 || image.length > 512 || !imagePattern.test(image)) return undefined;
  const [withoutDigest, digest, ...extra] = image.split('@');
  if (!withoutDigest || extra.length > 0) return undefined;
  if (digest !== undefined && !/^[a-z0-9]+:[a-f0-9]{32,}$/.test(digest)) return undefined;
  const parts = withoutDigest.split('/');
  const first = parts[0] ?? '';
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : 'docker.io';
  const path = hasRegistry ? parts.slice(1) : parts;
  if (path.length === 0 || path.some((p) => p.length === 0)) return undefined;
  const last = path[path.length - 1] as string;
  const colon = last.indexOf(':');
  const tag = colon >= 0 ? last.slice(colon + 1) : undefined;
  const repoLast = colon >= 0 ? last.slice(0, colon) : last;
  if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return undefined;
  const repoPath = [...path.slice(0, -1), repoLast];
  if (repoPath.some((p) => !/^[a-z0-9]+([._-][a-z0-9]+)*$/.test(p))) return undefined;
  if (registry === 'docker.io' && repoPath.length === 1) repoPath.unshift('library');
  const base = `${registry}/${repoPath.join('/')}`;
  if (digest !== undefined) return tag !== undefined ? `${base}:${tag}@${digest}` : `${base}@${digest}`;
  return `${base}:${tag ?? 'latest'}`;
}

function globMatches(pattern: string, value: string): boolean {
  const escaped = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(value);
}

export function imageAllowed(image: string, patterns: readonly string[]): boolean {
  const normalized = normalizeImage(image);
  if (normalized === undefined) return false;
  return patterns.some((p) => globMatches(p, normalized) || globMatches(p, image));
}

function checkKeys(
  map: Record<string, string>,
  field: string,
  out: Violation[],
  kind: 'label' | 'annotation',
): void {
  for (const [key, value] of Object.entries(map)) {
    const where = `${field}[${JSON.stringify(key)}]`;
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (name.length === 0 || name.length > 63 || !qualifiedNamePattern.test(name) || (prefix && !isDnsSubdomain(prefix))) {
      out.push({ field: where, description: `not a valid ${kind} key` });
      continue;
    }
    if (reservedKeyPrefix.test(key) && !(kind === 'annotation' && simAnnotation.test(key))) {
      out.push({ field: where, description: `${kind} keys under kubernetes.io, k8s.io and wharf.dev are reserved` });
    }
    if (kind === 'label' && (value.length > 63 || !labelValuePattern.test(value))) {
      out.push({ field: where, description: 'not a valid label value' });
    }
  }
  if (kind === 'annotation') {
    const bytes = Object.entries(map).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (bytes > 64 * 1024) out.push({ field, description: 'annotations exceed 64 KiB' });
  }
}

function isNonNegativeInt(value: number): boolean {
  return Number.isInteger(value) && value >= 0;
}

/**
 * Every reason to refuse `command` under `policy`, with field paths into the LaunchRun. Never
 * quotes a secret value (only env names) — violations end up in observations and the DLQ.
 */
export function validateLaunchRun(command: LaunchRun, policy: LaunchPolicy): Violation[] {
  const out: Violation[] = [];
  if (!isJobId(command.jobId)) {
    out.push({ field: 'jobId', description: 'must be a DNS label: lower-case letters, digits and -, at most 63' });
  }
  if (!Number.isInteger(command.run) || command.run < 1 || command.run > 999_999) {
    out.push({ field: 'run', description: 'must be an integer from 1 to 999999' });
  }
  if (command.tenant.length > 253 || [...command.tenant].some((c) => c.charCodeAt(0) < 0x20)) {
    out.push({ field: 'tenant', description: 'must be at most 253 printable characters' });
  }
  if (command.workflowId && !isDnsLabel(command.workflowId)) {
    out.push({ field: 'workflowId', description: 'must be a DNS label' });
  }
  if (command.taskName.length > 253) out.push({ field: 'taskName', description: 'must be at most 253 characters' });
  const spec = command.spec;
  if (!spec) {
    out.push({ field: 'spec', description: 'is required' });
    return out;
  }
  validateSpec(spec, policy, out);
  return out;
}

function validateSpec(spec: JobSpec, policy: LaunchPolicy, out: Violation[]): void {
  if (!isDnsLabel(spec.namespace)) {
    out.push({ field: 'spec.namespace', description: 'must be a DNS label' });
  } else if (!policy.namespaces.includes(spec.namespace)) {
    out.push({ field: 'spec.namespace', description: 'namespace is outside the launcher allowlist' });
  }
  if (!spec.image) {
    out.push({ field: 'spec.image', description: 'is required' });
  } else if (normalizeImage(spec.image) === undefined) {
    out.push({ field: 'spec.image', description: 'is not a valid image reference' });
  } else if (!imageAllowed(spec.image, policy.images)) {
    out.push({ field: 'spec.image', description: 'image is not allowed by the launcher image policy' });
  }
  spec.command.forEach((c, i) => c.length > 4096 && out.push({ field: `spec.command[${i}]`, description: 'longer than 4096' }));
  spec.args.forEach((a, i) => a.length > 32_768 && out.push({ field: `spec.args[${i}]`, description: 'longer than 32768' }));

  checkKeys(spec.labels, 'spec.labels', out, 'label');
  checkKeys(spec.annotations, 'spec.annotations', out, 'annotation');

  const envNames = new Set<string>();
  const checkEnvName = (name: string, field: string): void => {
    if (!envNamePattern.test(name) || name.length > 256) {
      out.push({ field, description: 'not a valid environment variable name' });
    } else if (reservedEnv.test(name)) {
      out.push({ field, description: 'WHARF_* and JOB_COMPLETION_INDEX are set by the launcher' });
    } else if (envNames.has(name)) {
      out.push({ field, description: 'environment variable set twice' });
    }
    envNames.add(name);
  };
  for (const name of Object.keys(spec.env)) checkEnvName(name, `spec.env[${JSON.stringify(name)}]`);

  let secretBytes = 0;
  spec.secrets.forEach((secret, i) => {
    const field = `spec.secrets[${i}]`;
    checkEnvName(secret.env, `${field}.env`);
    if (secret.value !== undefined && secret.secretRef !== undefined) {
      out.push({ field, description: 'set value or secretRef, not both' });
    } else if (secret.value !== undefined) {
      secretBytes += Buffer.byteLength(secret.value);
    } else if (secret.secretRef !== undefined) {
      if (!isDnsSubdomain(secret.secretRef.name)) out.push({ field: `${field}.secretRef.name`, description: 'not a valid Secret name' });
      if (!/^[-._a-zA-Z0-9]{1,253}$/.test(secret.secretRef.key)) out.push({ field: `${field}.secretRef.key`, description: 'not a valid Secret key' });
    } else {
      out.push({ field, description: 'needs a value or a secretRef' });
    }
  });
  if (secretBytes > policy.maxSecretBytes) {
    out.push({ field: 'spec.secrets', description: `inline secret values exceed ${policy.maxSecretBytes} bytes` });
  }

  if (spec.items.length > policy.maxItems) {
    out.push({ field: 'spec.items', description: `more than ${policy.maxItems} items` });
  }
  const inputsJson = JSON.stringify(spec.inputs ?? {});
  const configBytes = Buffer.byteLength(inputsJson) + spec.items.reduce((n, item) => n + Buffer.byteLength(item) + 16, 0);
  if (configBytes > policy.maxConfigBytes) {
    out.push({ field: 'spec.items', description: `inputs and items exceed ${policy.maxConfigBytes} bytes; pass a reference instead` });
  }
  if (!isNonNegativeInt(spec.parallelism) || spec.parallelism > policy.maxParallelism) {
    out.push({ field: 'spec.parallelism', description: `must be an integer from 0 to ${policy.maxParallelism}` });
  }
  if (!isNonNegativeInt(spec.activeDeadlineSeconds) || spec.activeDeadlineSeconds > policy.maxActiveDeadlineSeconds) {
    out.push({
      field: 'spec.activeDeadlineSeconds',
      description: `must be an integer from 0 to ${policy.maxActiveDeadlineSeconds}`,
    });
  }

  const resources = spec.resources;
  if (resources) {
    for (const key of ['cpu', 'memory'] as const) {
      const value = resources[key];
      if (value && !quantityPattern.test(value)) {
        out.push({ field: `spec.resources.${key}`, description: 'not a Kubernetes quantity (e.g. 500m, 1Gi)' });
      }
    }
    if (!isNonNegativeInt(resources.gpu) || resources.gpu > 16) {
      out.push({ field: 'spec.resources.gpu', description: 'must be an integer from 0 to 16' });
    }
  }

  const retry = spec.retry;
  if (retry) {
    if (!isNonNegativeInt(retry.backoffLimitPerIndex) || retry.backoffLimitPerIndex > policy.maxBackoffLimitPerIndex) {
      out.push({
        field: 'spec.retry.backoffLimitPerIndex',
        description: `must be an integer from 0 to ${policy.maxBackoffLimitPerIndex}`,
      });
    }
    const seen = new Set<number>();
    retry.exitCodeRules.forEach((rule, i) => {
      const field = `spec.retry.exitCodeRules[${i}]`;
      if (
        rule.action !== ExitCodeRule_Action.ACTION_FAIL_JOB &&
        rule.action !== ExitCodeRule_Action.ACTION_IGNORE &&
        rule.action !== ExitCodeRule_Action.ACTION_FAIL_INDEX
      ) {
        out.push({ field: `${field}.action`, description: 'must be FAIL_JOB, IGNORE or FAIL_INDEX' });
      }
      if (rule.exitCodes.length === 0 || rule.exitCodes.length > 255) {
        out.push({ field: `${field}.exitCodes`, description: 'needs 1 to 255 exit codes' });
      }
      rule.exitCodes.forEach((code, j) => {
        if (!Number.isInteger(code) || code < 1 || code > 255) {
          out.push({ field: `${field}.exitCodes[${j}]`, description: 'exit codes are 1 to 255' });
        } else if (seen.has(code)) {
          out.push({ field: `${field}.exitCodes[${j}]`, description: 'exit code already has a rule' });
        }
        seen.add(code);
      });
    });
    if (retry.exitCodeRules.length > 20) {
      out.push({ field: 'spec.retry.exitCodeRules', description: 'at most 20 rules' });
    }
  }

  const mountPaths = new Set<string>();
  spec.volumes.forEach((volume, i) => {
    const field = `spec.volumes[${i}]`;
    if (!isDnsSubdomain(volume.claimName)) {
      out.push({ field: `${field}.claimName`, description: 'not a valid PersistentVolumeClaim name' });
    }
    const path = volume.mountPath;
    if (!path.startsWith('/') || path === '/' || path.split('/').includes('..') || path.includes(':') || path.length > 1024) {
      out.push({ field: `${field}.mountPath`, description: 'must be an absolute path other than /, without .. or :' });
    } else if (reservedMountPaths.some((r) => path === r || path.startsWith(`${r}/`) || r.startsWith(`${path}/`))) {
      out.push({ field: `${field}.mountPath`, description: 'overlaps a path the launcher or the kubelet owns' });
    } else if (mountPaths.has(path)) {
      out.push({ field: `${field}.mountPath`, description: 'mounted twice' });
    }
    mountPaths.add(path);
  });
  if (spec.volumes.length > 16) out.push({ field: 'spec.volumes', description: 'at most 16 volumes' });

  const serviceAccount = spec.serviceAccount || 'default';
  if (!isDnsSubdomain(serviceAccount)) {
    out.push({ field: 'spec.serviceAccount', description: 'not a valid service account name' });
  } else if (!policy.serviceAccounts.includes('*') && !policy.serviceAccounts.includes(serviceAccount)) {
    out.push({ field: 'spec.serviceAccount', description: 'service account is not allowed by the launcher policy' });
  }
}

export function validateCancelRun(command: CancelRun): Violation[] {
  const out: Violation[] = [];
  if (!isJobId(command.jobId)) out.push({ field: 'jobId', description: 'must be a DNS label, at most 63' });
  if (!Number.isInteger(command.run) || command.run < 1 || command.run > 999_999) {
    out.push({ field: 'run', description: 'must be an integer from 1 to 999999' });
  }
  if (command.reason.length > 1024) out.push({ field: 'reason', description: 'must be at most 1024 characters' });
  return out;
}
