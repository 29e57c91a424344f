import { InvalidArgumentError } from '@wharf/platform';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The tokens file (a mounted Kubernetes Secret in a cluster):
 *
 *   tenants:
 *     - name: acme
 *       tokens: ["…", "…"]     # several, so tokens can be rotated
 *
 * Tokens are compared in constant time (platform tokenAuthenticator) and never logged.
 */
const tokensFileSchema = z.object({
  tenants: z.array(z.object({ name: z.string().min(1), tokens: z.array(z.string().min(16, 'tokens must have at least 16 characters')) })),
});

/** Token → tenant. Thrown: InvalidArgumentError naming what is wrong (never a token). */
export function parseTokenTable(text: string, source: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    throw new InvalidArgumentError(`${source}: not valid YAML`);
  }
  const result = tokensFileSchema.safeParse(parsed);
  if (!result.success) {
    throw new InvalidArgumentError(
      `${source}: invalid tokens file`,
      result.error.issues.map((i) => ({ field: i.path.join('.'), description: i.message })),
    );
  }
  const table = new Map<string, string>();
  for (const tenant of result.data.tenants) {
    for (const [i, token] of tenant.tokens.entries()) {
      const owner = table.get(token);
      if (owner !== undefined && owner !== tenant.name) {
        throw new InvalidArgumentError(`${source}: tenants.${tenant.name}.tokens[${i}] is also a token of tenant '${owner}'`);
      }
      table.set(token, tenant.name);
    }
  }
  return table;
}
