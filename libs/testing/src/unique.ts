import { randomBytes } from 'node:crypto';

/**
 * A name unique to this test: lower-case, DNS-1123-safe, prefixed for readability, e.g.
 * `uniqueName('jobs')` → `jobs-k3f9a2`. Topics, namespaces, groups and ids of one test never
 * collide with another's, so tests share servers without cleaning up between them.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
}
