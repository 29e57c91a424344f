import { createHash } from 'node:crypto';

/**
 * Deterministic names of what a run becomes. The same (job id, run) always gives the same
 * names, so a re-delivered LaunchRun meets AlreadyExists instead of creating a twin.
 */

/** A job id: a DNS label, so it can be a label value and part of object names. */
export const jobIdPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const maxJobIdLength = 63;

/** DNS-1123 label (namespace names, PVC/Secret names we accept as references are subdomains). */
export const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isJobId(value: string): boolean {
  return value.length > 0 && value.length <= maxJobIdLength && jobIdPattern.test(value);
}

export function isDnsLabel(value: string): boolean {
  return value.length > 0 && value.length <= 63 && dnsLabelPattern.test(value);
}

export function isDnsSubdomain(value: string): boolean {
  return value.length > 0 && value.length <= 253 && dnsSubdomainPattern.test(value);
}

/**
 * `w-<job id truncated to 44>-r<N>-<8 hex of sha256("<jobId>/<N>")>`: at most 63 characters
 * for runs below 10^6, a valid DNS-1123 label, and unique by the hash even when two long job
 * ids share their first 44 characters.
 */
export function kubeJobName(jobId: string, run: number): string {
  const hash = createHash('sha256').update(`${jobId}/${run}`).digest('hex').slice(0, 8);
  return `w-${jobId.slice(0, 44)}-r${run}-${hash}`;
}

/** The owned Secret holding a run's inline secret values. */
export function secretName(jobName: string): string {
  return `${jobName}-secrets`;
}

/** The owned ConfigMap holding a run's inputs (`inputs.json`) and items (`item-<i>`): chunk 0 of {@link inputsChunkName}. */
export function configMapName(jobName: string): string {
  return `${jobName}-inputs`;
}

/**
 * The owned ConfigMap holding chunk `chunk` of a run's inputs and items: `<job>-inputs` for
 * chunk 0 (the name runs with one chunk always had), `<job>-inputs-<chunk>` after it. A Job
 * name is a DNS label of at most 63 characters, so this stays a DNS subdomain far below 253.
 */
export function inputsChunkName(jobName: string, chunk: number): string {
  return chunk === 0 ? configMapName(jobName) : `${configMapName(jobName)}-${chunk}`;
}

export function itemKey(index: number): string {
  return `item-${index}`;
}

/** The owned Secret's key for an inline secret: its env name (a valid Secret key). */
export function secretKey(envName: string): string {
  return envName;
}
