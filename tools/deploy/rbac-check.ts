/**
 * Checks that each service's RBAC, as rendered by every overlay, equals the least-privilege
 * table documented in docs/deploy.md (between the `rbac-table` markers), row for row: a grant
 * missing from the manifests or a grant the table does not list both fail.
 *
 *   npx tsx tools/deploy/rbac-check.ts [overlay...]
 *
 * A grant is (service, scope, apiGroup, resource, verb). The scope comes from how the role is
 * bound to the service's ServiceAccount: `own` (a RoleBinding in the service's namespace),
 * `jobs` (a RoleBinding in another namespace: where jobs run) or `cluster` (a
 * ClusterRoleBinding).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, overlays, renderOverlay, repoRoot, type KubeObject } from './manifests';

export interface Grant {
  readonly service: string;
  readonly scope: 'own' | 'jobs' | 'cluster';
  readonly apiGroup: string;
  readonly resource: string;
  readonly verb: string;
}

interface PolicyRule {
  readonly apiGroups?: string[];
  readonly resources?: string[];
  readonly verbs?: string[];
  readonly resourceNames?: string[];
  readonly nonResourceURLs?: string[];
}
interface Binding extends KubeObject {
  readonly roleRef: { readonly kind: string; readonly name: string };
  readonly subjects?: {
    readonly kind: string;
    readonly name: string;
    readonly namespace?: string;
  }[];
}
interface Role extends KubeObject {
  readonly rules?: PolicyRule[];
}

export const services = ['scheduler', 'job-launcher', 'log-archiver', 'stream-ingest'] as const;

export function key(g: Grant): string {
  return `${g.service} | ${g.scope} | ${g.apiGroup || 'core'} | ${g.resource} | ${g.verb}`;
}

/** The grants the manifests give each service's ServiceAccount. */
export function grantsOf(objects: readonly KubeObject[]): { grants: Grant[]; problems: string[] } {
  const problems: string[] = [];
  const roles = new Map<string, Role>();
  for (const o of objects) {
    if (o.kind === 'Role') roles.set(`Role/${o.metadata.namespace}/${o.metadata.name}`, o as Role);
    if (o.kind === 'ClusterRole') roles.set(`ClusterRole/${o.metadata.name}`, o as Role);
  }
  const serviceNamespace = new Map<string, string>();
  for (const o of objects) {
    if (o.kind === 'ServiceAccount' && (services as readonly string[]).includes(o.metadata.name)) {
      serviceNamespace.set(o.metadata.name, o.metadata.namespace ?? '');
    }
  }
  const grants: Grant[] = [];
  for (const o of objects) {
    if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') continue;
    const binding = o as Binding;
    const roleKey =
      binding.roleRef.kind === 'ClusterRole'
        ? `ClusterRole/${binding.roleRef.name}`
        : `Role/${binding.metadata.namespace}/${binding.roleRef.name}`;
    const role = roles.get(roleKey);
    for (const subject of binding.subjects ?? []) {
      if (subject.kind !== 'ServiceAccount') {
        problems.push(
          `${describe(o)} binds ${subject.kind} ${subject.name}: only service accounts are expected`,
        );
        continue;
      }
      const ns = serviceNamespace.get(subject.name);
      if (ns === undefined) {
        problems.push(`${describe(o)} binds unknown service account ${subject.name}`);
        continue;
      }
      if (subject.namespace !== ns) {
        problems.push(
          `${describe(o)} binds ${subject.name} in namespace '${subject.namespace}', not its own '${ns}'`,
        );
      }
      if (!role) {
        problems.push(`${describe(o)} refers to missing ${roleKey}`);
        continue;
      }
      const scope: Grant['scope'] =
        o.kind === 'ClusterRoleBinding' ? 'cluster' : o.metadata.namespace === ns ? 'own' : 'jobs';
      for (const rule of role.rules ?? []) {
        if (rule.nonResourceURLs?.length) problems.push(`${roleKey} grants non-resource URLs`);
        if (rule.resourceNames?.length)
          problems.push(`${roleKey} uses resourceNames (not in the table's vocabulary)`);
        for (const apiGroup of rule.apiGroups ?? [])
          for (const resource of rule.resources ?? [])
            for (const verb of rule.verbs ?? []) {
              if (apiGroup === '*' || resource === '*' || verb === '*') {
                problems.push(`${roleKey} uses a wildcard (${apiGroup}/${resource}/${verb})`);
              }
              grants.push({ service: subject.name, scope, apiGroup, resource, verb });
            }
      }
    }
  }
  return { grants, problems };
}

/**
 * The table in docs/deploy.md: `| service | scope | API group | resources | verbs |`, where
 * resources and verbs are comma-separated and `core` is the "" group. A row `| svc | none |`
 * documents a service without any grant.
 */
export function documentedGrants(markdown: string): Grant[] {
  const match = /<!-- rbac-table:begin -->([\s\S]*?)<!-- rbac-table:end -->/.exec(markdown);
  if (!match?.[1])
    throw new Error(
      'docs/deploy.md has no <!-- rbac-table:begin --> … <!-- rbac-table:end --> block',
    );
  const grants: Grant[] = [];
  for (const line of match[1].split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim().replace(/`/g, ''));
    if (cells.length < 2 || cells[0] === 'service' || /^-+$/.test(cells[0] ?? '')) continue;
    const [service = '', scope = '', group = '', resources = '', verbs = ''] = cells;
    if (scope === 'none') continue;
    if (scope !== 'own' && scope !== 'jobs' && scope !== 'cluster')
      throw new Error(`unknown scope '${scope}' in: ${line}`);
    for (const resource of resources.split(',').map((s) => s.trim()))
      for (const verb of verbs.split(',').map((s) => s.trim()))
        grants.push({ service, scope, apiGroup: group === 'core' ? '' : group, resource, verb });
  }
  return grants;
}

/** Grants in the manifests but not the table (`extra`) and the reverse (`missing`). */
export function compare(actual: readonly Grant[], documented: readonly Grant[]) {
  const a = new Set(actual.map(key));
  const d = new Set(documented.map(key));
  return {
    extra: [...a].filter((k) => !d.has(k)).sort(),
    missing: [...d].filter((k) => !a.has(k)).sort(),
  };
}

/** Pods of services without grants must not mount a token either. */
export function tokenProblems(
  objects: readonly KubeObject[],
  documented: readonly Grant[],
): string[] {
  const withGrants = new Set(documented.map((g) => g.service));
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment' || withGrants.has(o.metadata.name)) continue;
    const spec = (
      o as { spec?: { template?: { spec?: { automountServiceAccountToken?: boolean } } } }
    ).spec;
    if (spec?.template?.spec?.automountServiceAccountToken !== false) {
      problems.push(`${describe(o)} has no RBAC grants but mounts a service account token`);
    }
  }
  return problems;
}

function main(): void {
  const markdown = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');
  const documented = documentedGrants(markdown);
  const wanted = process.argv.slice(2);
  let failed = false;
  for (const overlay of wanted.length ? wanted : overlays()) {
    const objects = renderOverlay(overlay);
    const { grants, problems } = grantsOf(objects);
    const { extra, missing } = compare(grants, documented);
    problems.push(...tokenProblems(objects, documented));
    problems.push(...extra.map((k) => `granted but not in docs/deploy.md: ${k}`));
    problems.push(...missing.map((k) => `in docs/deploy.md but not granted: ${k}`));
    if (problems.length) {
      failed = true;
      process.stdout.write(`FAIL rbac ${overlay}\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    } else {
      process.stdout.write(
        `ok   rbac ${overlay}: ${grants.length} grants match the documented table\n`,
      );
    }
  }
  if (failed) process.exit(1);
}

if (require.main === module) main();
