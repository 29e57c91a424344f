import type { JobSpec } from '@wharf/contracts';
import { JobSpec as JobSpecCodec } from '@wharf/contracts';
import { createHash } from 'node:crypto';

/** A job id (and an idempotency key): a DNS label, so it is usable as a label value too. */
export const jobIdPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const maxJobIdLength = 63;
/** Length of the sanitized name part of a derived job id. */
const maxNamePartLength = 46;

export function isValidJobId(id: string): boolean {
  return id.length > 0 && id.length <= maxJobIdLength && jobIdPattern.test(id);
}

/**
 * JSON with object keys sorted at every level, so equal values always serialise the same.
 * Arrays keep their order (it is meaningful: items, args).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * sha256 (hex) of the spec's canonical JSON in the proto3 JSON mapping, where default values
 * are omitted: a spec submitted as JSON over Kafka and the same spec over gRPC hash alike.
 */
export function specHash(spec: JobSpec): string {
  return createHash('sha256').update(canonicalJson(JobSpecCodec.toJSON(spec))).digest('hex');
}

/** The DNS-label form of a name: lower-case, runs of other characters become '-'. */
export function sanitizeName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, maxNamePartLength)
    .replace(/-+$/, '');
  return cleaned === '' ? 'job' : cleaned;
}

/** `<name sanitized, ≤ 46 chars>-<first 16 hex of the spec hash>`: equal specs, equal ids. */
export function deriveJobId(name: string, hash: string): string {
  return `${sanitizeName(name)}-${hash.slice(0, 16)}`;
}

/**
 * The Kubernetes Job of run `run`, exactly as job-launcher names it (one function for both, so
 * the run's recorded job name is the real Job's): `w-<job id ≤ 44>-r<run>-<8 hex>`.
 */
export { kubeJobName } from '@wharf/launch';
