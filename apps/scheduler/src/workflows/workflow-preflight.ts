import type { TaskSpec, WorkflowSpec } from '@wharf/contracts';
import { FailedPreconditionError, type Violation } from '@wharf/platform';
import { isFanOut, renderTaskJob, type RenderedTask } from './task-renderer';
import { renderTemplate, type TemplateScope } from './workflow-template';

/**
 * Preflight (seed 004's "assert the cluster resources an experiment needs"), as a pure planner:
 * {@link planPreflight} lists what a workflow names in the cluster and the jobs to dry-run; the
 * scheduler looks each up (Kubernetes port) and {@link preflightError} turns the answers into one
 * FAILED_PRECONDITION listing every missing thing, before anything runs.
 */

export const ClusterResourceKinds = {
  namespace: 'Namespace',
  secret: 'Secret',
  configMap: 'ConfigMap',
  pvc: 'PersistentVolumeClaim',
  serviceAccount: 'ServiceAccount',
} as const;
export type ClusterResourceKind = (typeof ClusterResourceKinds)[keyof typeof ClusterResourceKinds];

/** One cluster object the workflow needs, with every field that names it. */
export interface ResourceRequirement {
  readonly kind: ClusterResourceKind;
  /** '' for namespaces. */
  readonly namespace: string;
  readonly name: string;
  /** Secret/ConfigMap keys that must exist in it. */
  readonly keys: readonly string[];
  /** Spec field paths naming it, e.g. `tasks[1].template.secrets[0].secretRef`. */
  readonly usedBy: readonly string[];
}

export interface PreflightPlan {
  readonly workflowId: string;
  readonly resources: readonly ResourceRequirement[];
  /** Every task rendered, to be dry-run server-side (fan-outs with a placeholder item list). */
  readonly jobs: readonly RenderedTask[];
}

/** The placeholder a dry-run renders for outputs not known before the workflow runs. */
export const dryRunPlaceholder = 'wharf-dry-run';

function dryRunScope(workflowId: string, spec: WorkflowSpec): TemplateScope {
  const tasks = Object.fromEntries(
    [...spec.tasks, ...spec.finally].map((t) => [t.name, { status: 'Succeeded', output: dryRunPlaceholder, fanOut: isFanOut(t) }]),
  );
  return {
    params: spec.parameters,
    tasks,
    workflow: { id: workflowId, name: spec.name, namespace: spec.namespace, status: 'Succeeded' },
  };
}

/** Lists the cluster objects a (validated) workflow names and renders its jobs for a dry-run. */
export function planPreflight(workflowId: string, spec: WorkflowSpec): PreflightPlan {
  const scope = dryRunScope(workflowId, spec);
  const found = new Map<string, { kind: ClusterResourceKind; namespace: string; name: string; keys: Set<string>; usedBy: string[] }>();
  const need = (kind: ClusterResourceKind, namespace: string, name: string, usedBy: string, key?: string) => {
    const id = `${kind}/${namespace}/${name}`;
    const entry = found.get(id) ?? { kind, namespace, name, keys: new Set<string>(), usedBy: [] };
    if (key) entry.keys.add(key);
    if (!entry.usedBy.includes(usedBy)) entry.usedBy.push(usedBy);
    found.set(id, entry);
  };
  need(ClusterResourceKinds.namespace, '', spec.namespace, 'namespace');
  const workspaces = new Map(spec.workspaces.map((w, i) => [w.name, { claim: w.claimName, at: i }]));
  spec.workspaces.forEach((w, i) => need(ClusterResourceKinds.pvc, spec.namespace, w.claimName, `workspaces[${i}].claimName`));
  const jobs: RenderedTask[] = [];
  const groups: [string, readonly TaskSpec[]][] = [
    ['tasks', spec.tasks],
    ['finally', spec.finally],
  ];
  for (const [group, tasks] of groups) {
    tasks.forEach((task, i) => {
      const at = `${group}[${i}]`;
      const t = task.template;
      if (!t) return;
      const namespace = renderTemplate(t.namespace || spec.namespace, scope);
      if (namespace !== spec.namespace) need(ClusterResourceKinds.namespace, '', namespace, `${at}.template.namespace`);
      t.secrets.forEach((s, j) => {
        if (s.secretRef) {
          need(ClusterResourceKinds.secret, namespace, renderTemplate(s.secretRef.name, scope), `${at}.template.secrets[${j}].secretRef`, renderTemplate(s.secretRef.key, scope));
        }
      });
      t.volumes.forEach((v, j) => need(ClusterResourceKinds.pvc, namespace, renderTemplate(v.claimName, scope), `${at}.template.volumes[${j}].claimName`));
      task.workspaces.forEach((b, j) => {
        const w = workspaces.get(b.name);
        if (w) need(ClusterResourceKinds.pvc, spec.namespace, w.claim, `${at}.workspaces[${j}]`);
      });
      const sa = renderTemplate(t.serviceAccount, scope);
      if (sa) need(ClusterResourceKinds.serviceAccount, namespace, sa, `${at}.template.serviceAccount`);
      const items = isFanOut(task) ? (task.withItems.length ? task.withItems.map((x) => renderTemplate(x, scope)) : [dryRunPlaceholder]) : [];
      jobs.push(renderTaskJob(workflowId, spec, task, scope, items));
    });
  }
  return {
    workflowId,
    resources: [...found.values()].map((r) => ({ kind: r.kind, namespace: r.namespace, name: r.name, keys: [...r.keys].sort(), usedBy: r.usedBy })),
    jobs,
  };
}

/** What the scheduler found for one requirement. */
export type ResourceLookup =
  | { readonly status: 'found'; readonly keys?: readonly string[] }
  | { readonly status: 'missing' }
  /** Exists but cannot be used, e.g. a PVC that is Lost, or a namespace being deleted. */
  | { readonly status: 'unusable'; readonly reason: string }
  /** The scheduler may not read it (RBAC): reported as a problem too, never as "exists". */
  | { readonly status: 'forbidden' };

export interface DryRunOutcome {
  readonly task: string;
  readonly ok: boolean;
  /** The API server's message when the dry-run was refused (never secret values). */
  readonly message?: string;
}

/** A PVC's usability from its status.phase: Bound and Pending (WaitForFirstConsumer) are usable. */
export function pvcLookup(phase: string | undefined): ResourceLookup {
  if (phase === 'Lost') return { status: 'unusable', reason: 'its volume is lost' };
  return { status: 'found' };
}

/** A namespace being deleted cannot take new objects. */
export function namespaceLookup(phase: string | undefined): ResourceLookup {
  return phase === 'Terminating' ? { status: 'unusable', reason: 'it is being deleted' } : { status: 'found' };
}

function describe(r: ResourceRequirement): string {
  return r.namespace ? `${r.kind} "${r.namespace}/${r.name}"` : `${r.kind} "${r.name}"`;
}

/** Every problem preflight found, one violation each; [] means the workflow may run. */
export function preflightViolations(
  plan: PreflightPlan,
  lookups: ReadonlyMap<ResourceRequirement, ResourceLookup>,
  dryRuns: readonly DryRunOutcome[] = [],
): Violation[] {
  const violations: Violation[] = [];
  for (const r of plan.resources) {
    const field = r.usedBy.join(', ');
    const found = lookups.get(r) ?? { status: 'missing' as const };
    if (found.status === 'missing') violations.push({ field, description: `${describe(r)} not found` });
    else if (found.status === 'forbidden') violations.push({ field, description: `${describe(r)} cannot be read by the scheduler` });
    else if (found.status === 'unusable') violations.push({ field, description: `${describe(r)} is not usable: ${found.reason}` });
    else if (found.keys) {
      const missing = r.keys.filter((k) => !found.keys?.includes(k));
      for (const key of missing) violations.push({ field, description: `${describe(r)} has no key "${key}"` });
    }
  }
  for (const outcome of dryRuns) {
    if (!outcome.ok) {
      violations.push({ field: `task ${outcome.task}`, description: `server-side dry-run refused its job: ${outcome.message ?? 'unknown reason'}` });
    }
  }
  return violations;
}

/** FAILED_PRECONDITION listing each missing thing, or undefined when preflight passed. */
export function preflightError(
  plan: PreflightPlan,
  lookups: ReadonlyMap<ResourceRequirement, ResourceLookup>,
  dryRuns: readonly DryRunOutcome[] = [],
): FailedPreconditionError | undefined {
  const violations = preflightViolations(plan, lookups, dryRuns);
  return violations.length ? new FailedPreconditionError('workflow preflight failed', violations) : undefined;
}
