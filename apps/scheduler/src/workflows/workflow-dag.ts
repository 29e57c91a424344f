/**
 * The dependency graph of a workflow's tasks: problems (unknown or self dependencies, cycles —
 * each named by its path) and ancestry (which tasks finish before a task starts, so which
 * outputs it may read).
 */

export interface DagNode {
  readonly name: string;
  readonly dependsOn: readonly string[];
}

export interface DagProblem {
  /** Index of the node in the list, and of the dependsOn entry when it is about one. */
  readonly node: number;
  readonly dependency?: number;
  readonly message: string;
}

/** Cycles as name paths, e.g. ["a", "b", "c", "a"]; each cycle reported once. */
export function findCycles(nodes: readonly DagNode[]): string[][] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      if (!byName.has(dep) || dep === name) continue;
      const s = state.get(dep);
      if (s === 'visiting') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (s === undefined) visit(dep);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const node of nodes) if (!state.has(node.name)) visit(node.name);
  return cycles;
}

/**
 * Structural problems of one group of tasks. `outside` names tasks a node may not depend on
 * with the reason (finally tasks for regular tasks, regular tasks for finally tasks).
 */
export function dagProblems(nodes: readonly DagNode[], outside: ReadonlyMap<string, string> = new Map()): DagProblem[] {
  const problems: DagProblem[] = [];
  const names = new Set(nodes.map((n) => n.name));
  nodes.forEach((node, i) => {
    const seen = new Set<string>();
    node.dependsOn.forEach((dep, j) => {
      if (dep === node.name) problems.push({ node: i, dependency: j, message: 'a task cannot depend on itself' });
      else if (outside.has(dep)) problems.push({ node: i, dependency: j, message: outside.get(dep) ?? 'not allowed' });
      else if (!names.has(dep)) problems.push({ node: i, dependency: j, message: `unknown task "${dep}"` });
      else if (seen.has(dep)) problems.push({ node: i, dependency: j, message: `"${dep}" is listed twice` });
      seen.add(dep);
    });
  });
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  for (const cycle of findCycles(nodes)) {
    problems.push({ node: index.get(cycle[0] ?? '') ?? 0, message: `dependency cycle: ${cycle.join(' → ')}` });
  }
  return problems;
}

/** Every task that finishes before `name` starts (its transitive dependencies). */
export function ancestorsOf(name: string, nodes: readonly DagNode[]): Set<string> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const result = new Set<string>();
  const pending = [...(byName.get(name)?.dependsOn ?? [])];
  while (pending.length) {
    const next = pending.pop() ?? '';
    if (result.has(next) || !byName.has(next)) continue;
    result.add(next);
    pending.push(...(byName.get(next)?.dependsOn ?? []));
  }
  return result;
}

/** Every task that (transitively) depends on `name`. */
export function descendantsOf(name: string, nodes: readonly DagNode[]): Set<string> {
  const result = new Set<string>();
  let frontier = [name];
  while (frontier.length) {
    const next: string[] = [];
    for (const node of nodes) {
      if (!result.has(node.name) && node.dependsOn.some((d) => frontier.includes(d))) {
        result.add(node.name);
        next.push(node.name);
      }
    }
    frontier = next;
  }
  return result;
}
