/**
 * Where things live in the archive (the layout is a contract with readers of the archive:
 * the CLI, operators, retention rules):
 *
 *   <prefix>/<namespace>/<job-id>/run-<n>/manifest.json
 *   <prefix>/<namespace>/<job-id>/run-<n>/index-<i>/<pod>/<container>.log
 *   <prefix>/<namespace>/<job-id>/run-<n>/index-<i>/<pod>/<container>.previous.log
 *
 * Every segment is a DNS label (namespace, job id, pod and container names are), so keys need
 * no escaping, and a key is a pure function of what it holds: rewriting after a crash
 * overwrites rather than duplicates. A non-indexed Job's pods are `index-0`.
 */
export interface RunRef {
  readonly namespace: string;
  readonly jobId: string;
  readonly run: number;
}

export interface LogRef {
  readonly index: number;
  readonly pod: string;
  readonly container: string;
  /** The instance before the container's last restart, while Kubernetes still keeps it. */
  readonly previous: boolean;
}

export class ObjectLayout {
  private readonly prefix: string;

  /** `prefix` may be empty or have slashes at either end; they are normalised away. */
  constructor(prefix: string) {
    this.prefix = prefix
      .split('/')
      .filter((s) => s.length > 0)
      .join('/');
  }

  /** All objects of one run start with this (it ends with `/`). */
  runPrefix(run: RunRef): string {
    return `${this.join([run.namespace, run.jobId, `run-${run.run}`])}/`;
  }

  manifestKey(run: RunRef): string {
    return `${this.runPrefix(run)}manifest.json`;
  }

  logKey(run: RunRef, log: LogRef): string {
    assertDnsName(log.pod);
    assertDnsName(log.container);
    const file = log.previous ? `${log.container}.previous.log` : `${log.container}.log`;
    return `${this.runPrefix(run)}index-${log.index}/${log.pod}/${file}`;
  }

  private join(segments: readonly string[]): string {
    for (const s of segments) assertDnsName(s);
    return [this.prefix, ...segments].filter((s) => s.length > 0).join('/');
  }
}

function assertDnsName(s: string): void {
  if (s.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(s) || s.includes('..')) {
    throw new TypeError(`not a DNS name: ${JSON.stringify(s)}`);
  }
}
