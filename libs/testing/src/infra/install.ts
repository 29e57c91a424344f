import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export type InfraComponent = 'kafka' | 'kube' | 's3';

/** The repository root (libs/testing/src/infra → ../../../..). */
export const repoRoot = resolve(__dirname, '../../../..');

/**
 * Makes sure a server's binaries are built and cached, and returns the cache folder the
 * install script prints. The first run builds from Maven Central / the Go module proxy
 * (minutes, with progress on stderr); later runs return at once.
 *
 * Thrown when the install script fails, with the tail of its output.
 */
export function ensureInstalled(component: InfraComponent): string {
  const script = resolve(repoRoot, 'tools/infra', `install-${component}.sh`);
  const result = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) {
    throw new Error(`installing ${component} failed (exit ${result.status}); see the output above (${script})`);
  }
  const dir = result.stdout.trim().split('\n').pop();
  if (!dir) throw new Error(`install-${component}.sh printed no install folder`);
  return dir;
}
