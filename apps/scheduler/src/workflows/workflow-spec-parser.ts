import { WorkflowSpec } from '@wharf/contracts';
import { InvalidArgumentError, type Violation } from '@wharf/platform';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { dagProblems, ancestorsOf, type DagNode } from './workflow-dag';
import { defaultWorkflowLimits, workflowSpecSchema, type WorkflowLimits } from './workflow-schema';
import {
  parseCondition,
  parseTemplate,
  referencedTask,
  referencesOf,
  type TemplateReference,
} from './workflow-template';

/** One problem of a submitted spec: where (field path, and line:column for text) and what. */
export interface SpecProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export type WorkflowParse =
  | { readonly ok: true; readonly spec: WorkflowSpec }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

type ParsedSpec = z.output<typeof workflowSpecSchema>;
type ParsedTask = ParsedSpec['tasks'][number];

/** `tasks[2].template.env.TOKEN` */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Violations for the API error: field = path, description starts with "line L:C" for text. */
export function toViolations(problems: readonly SpecProblem[]): Violation[] {
  return problems.map((p) => ({
    field: formatPath(p.path),
    description: p.line === undefined ? p.message : `line ${p.line}:${p.column ?? 1}: ${p.message}`,
  }));
}

/** The INVALID_ARGUMENT error of a rejected spec, listing every problem. */
export function invalidWorkflowError(problems: readonly SpecProblem[]): InvalidArgumentError {
  return new InvalidArgumentError('workflow spec is invalid', toViolations(problems));
}

/** Parses YAML (or JSON, which is YAML) text and validates it; problems carry line:column. */
export function parseWorkflowText(text: string, limits: WorkflowLimits = defaultWorkflowLimits): WorkflowParse {
  if (Buffer.byteLength(text, 'utf8') > limits.maxSpecBytes) {
    return { ok: false, problems: [{ path: [], message: `the spec is larger than ${limits.maxSpecBytes} bytes` }] };
  }
  // JSON text (what tools send, and large generated fan-outs) takes the fast path; the YAML
  // document is built only to place problems, or when the text is not JSON.
  const json = parseJsonObject(text);
  if (json !== undefined) {
    const result = validateWorkflowObject(json, limits);
    if (result.ok) return result;
    const { doc, lineCounter } = yamlDocument(text);
    return { ok: false, problems: result.problems.map((p) => ({ ...p, ...locate(doc, lineCounter, p.path, p.message === unknownField) })) };
  }
  const { doc, lineCounter } = yamlDocument(text);
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: [],
        message: e.message.split('\n')[0] ?? e.message,
        line: e.linePos?.[0].line ?? 1,
        column: e.linePos?.[0].col ?? 1,
      })),
    };
  }
  const result = validateWorkflowObject(doc.toJS({ maxAliasCount: 100 }) as unknown, limits);
  if (result.ok) return result;
  return {
    ok: false,
    problems: result.problems.map((p) => ({ ...p, ...locate(doc, lineCounter, p.path, p.message === unknownField) })),
  };
}

function parseJsonObject(text: string): unknown {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function yamlDocument(text: string): { doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  return { doc, lineCounter };
}

/** Validates a spec that arrived as a protobuf message (SubmitWorkflowRequest.spec). */
export function validateWorkflowSpec(spec: WorkflowSpec, limits: WorkflowLimits = defaultWorkflowLimits): WorkflowParse {
  const json = WorkflowSpec.toJSON(spec);
  if (Buffer.byteLength(JSON.stringify(json), 'utf8') > limits.maxSpecBytes) {
    return { ok: false, problems: [{ path: [], message: `the spec is larger than ${limits.maxSpecBytes} bytes` }] };
  }
  return validateWorkflowObject(json, limits);
}

/** Either form of SubmitWorkflowRequest's source → a valid spec, or INVALID_ARGUMENT. */
export function workflowSpecOrThrow(
  source: { readonly text?: string | undefined; readonly spec?: WorkflowSpec | undefined },
  limits: WorkflowLimits = defaultWorkflowLimits,
): WorkflowSpec {
  const result =
    source.text !== undefined
      ? parseWorkflowText(source.text, limits)
      : source.spec
        ? validateWorkflowSpec(source.spec, limits)
        : { ok: false as const, problems: [{ path: ['spec'], message: 'set spec or text' }] };
  if (!result.ok) throw invalidWorkflowError(result.problems);
  return result.spec;
}

function validateWorkflowObject(value: unknown, limits: WorkflowLimits): WorkflowParse {
  const parsed = workflowSpecSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => {
        const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
        return keys.length === 1 ? { path: [...path, keys[0] ?? ''], message: unknownField } : { path, message: issue.message };
      }),
    };
  }
  const problems = semanticProblems(parsed.data, limits);
  if (problems.length) return { ok: false, problems };
  const parameters = Object.fromEntries(Object.entries(parsed.data.parameters ?? {}).map(([k, v]) => [k, String(v)]));
  return { ok: true, spec: WorkflowSpec.fromJSON({ ...parsed.data, parameters }) };
}

const unknownField = 'unknown field';

/** Fields naming cluster objects: preflight must know them before anything runs. */
const staticFields = new Set(['namespace', 'queue', 'serviceAccount', 'secretRef', 'claimName']);

function stringLeaves(value: unknown, path: (string | number)[], out: [(string | number)[], string][]): void {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => stringLeaves(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) stringLeaves(v, [...path, k], out);
  }
}

function semanticProblems(spec: ParsedSpec, limits: WorkflowLimits): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });
  const tasks = spec.tasks;
  const finallyTasks = spec.finally ?? [];
  const parameters = spec.parameters ?? {};
  if (tasks.length + finallyTasks.length > limits.maxTasks) add(['tasks'], `at most ${limits.maxTasks} tasks (with finally)`);
  if (Object.keys(parameters).length > limits.maxParameters) add(['parameters'], `at most ${limits.maxParameters} parameters`);
  for (const [k, v] of Object.entries(parameters)) {
    if (Buffer.byteLength(String(v), 'utf8') > limits.maxParameterBytes) add(['parameters', k], `larger than ${limits.maxParameterBytes} bytes`);
  }

  const seen = new Map<string, string>();
  const groups: [string, readonly ParsedTask[]][] = [
    ['tasks', tasks],
    ['finally', finallyTasks],
  ];
  for (const [group, list] of groups) {
    list.forEach((t, i) => {
      const other = seen.get(t.name);
      if (other) add([group, i, 'name'], `duplicate task name "${t.name}" (also ${other})`);
      else seen.set(t.name, formatPath([group, i]));
    });
  }
  const nodes = (list: readonly ParsedTask[]): DagNode[] => list.map((t) => ({ name: t.name, dependsOn: t.dependsOn ?? [] }));
  const regularNodes = nodes(tasks);
  const finallyNodes = nodes(finallyTasks);
  const regularNames = new Set(tasks.map((t) => t.name));
  const finallyNames = new Set(finallyTasks.map((t) => t.name));
  const dagGroups: [string, DagNode[], Map<string, string>][] = [
    ['tasks', regularNodes, new Map([...finallyNames].map((n) => [n, `"${n}" is a finally task; tasks cannot depend on finally tasks`]))],
    ['finally', finallyNodes, new Map([...regularNames].map((n) => [n, `finally tasks run after every task; dependsOn may name only finally tasks`]))],
  ];
  for (const [group, list, outside] of dagGroups) {
    for (const p of dagProblems(list, outside)) {
      add(p.dependency === undefined ? [group, p.node, 'dependsOn'] : [group, p.node, 'dependsOn', p.dependency], p.message);
    }
  }

  const workspaceNames = new Set<string>();
  (spec.workspaces ?? []).forEach((w, i) => {
    if (workspaceNames.has(w.name)) add(['workspaces', i, 'name'], `duplicate workspace "${w.name}"`);
    workspaceNames.add(w.name);
  });
  const fanOuts = new Set([...tasks, ...finallyTasks].filter((t) => t.withItems !== undefined || t.withParam !== undefined).map((t) => t.name));

  for (const [group, list] of groups) {
    const isFinally = group === 'finally';
    list.forEach((task, i) => {
      const here: (string | number)[] = [group, i];
      // Which task outputs this task may read: its ancestors; finally tasks also every regular task.
      const readable = isFinally ? new Set([...regularNames, ...ancestorsOf(task.name, finallyNodes)]) : ancestorsOf(task.name, regularNodes);
      const isFanOut = fanOuts.has(task.name);
      const checkReference = (path: (string | number)[], ref: TemplateReference, where: 'command' | 'static' | 'other') => {
        const target = referencedTask(ref);
        if (ref.kind === 'param' && !(ref.name in parameters)) add(path, `unknown parameter "${ref.name}"`);
        else if (ref.kind === 'item' && !isFanOut) add(path, '{{ item }} is only defined in a fan-out task (withItems / withParam)');
        else if (ref.kind === 'workflow' && ref.field === 'status' && !isFinally) add(path, '{{ workflow.status }} is only defined in finally tasks');
        else if (ref.kind === 'item' && where !== 'command') add(path, '{{ item }} may be used only in command and args (the container shell expands it)');
        else if (where === 'static' && (target !== undefined || ref.kind === 'item' || (ref.kind === 'workflow' && ref.field === 'status'))) {
          add(path, 'only {{ params.* }} and {{ workflow.id|name|namespace }} may be used here: preflight checks this field before anything runs');
        } else if (target !== undefined) {
          if (!regularNames.has(target) && !finallyNames.has(target)) add(path, `unknown task "${target}"`);
          else if (!readable.has(target)) add(path, `task "${target}" does not finish before "${task.name}": add it to dependsOn`);
          else if (ref.kind === 'task-outputs' && !fanOuts.has(target)) add(path, `task "${target}" is not a fan-out; use {{ tasks.${target}.output }}`);
        }
      };
      const checkString = (path: (string | number)[], text: string, where: 'command' | 'static' | 'other') => {
        const parse = parseTemplate(text);
        if (!parse.ok) add(path, parse.message);
        else for (const ref of referencesOf(parse)) checkReference(path, ref, where);
      };

      const leaves: [(string | number)[], string][] = [];
      stringLeaves(task.template, [...here, 'template'], leaves);
      for (const [path, text] of leaves) {
        const field = path[here.length + 1];
        const where = field === 'command' || field === 'args' ? 'command' : path.some((s) => typeof s === 'string' && staticFields.has(s)) ? 'static' : 'other';
        checkString(path, text, where);
      }
      if (task.withItems) {
        if (task.withItems.length > limits.maxFanOut) add([...here, 'withItems'], `at most ${limits.maxFanOut} items`);
        if (task.withItems.length === 0) add([...here, 'withItems'], 'must not be empty');
        task.withItems.forEach((item, j) => checkString([...here, 'withItems', j], item, 'other'));
      }
      if (task.withParam !== undefined) {
        const path = [...here, 'withParam'];
        const parse = parseTemplate(task.withParam.trim());
        const only = parse.ok && parse.parts.length === 1 ? parse.parts[0]?.reference : undefined;
        if (!only || !(only.kind === 'param' || only.kind === 'task-output' || (only.kind === 'task-outputs' && only.index === undefined))) {
          add(path, 'must be exactly one reference to a JSON list: "{{ tasks.<task>.output }}" or "{{ params.<name> }}"');
        } else checkReference(path, only, 'other');
      }
      if (task.when !== undefined) {
        const path = [...here, 'when'];
        if (task.when.length > limits.maxConditionLength) add(path, `longer than ${limits.maxConditionLength} characters`);
        else {
          const condition = parseCondition(task.when);
          if (!condition.ok) add(path, condition.message ?? 'invalid condition');
          for (const ref of condition.references) checkReference(path, ref, 'other');
        }
      }
      const mounts = new Set<string>();
      (task.workspaces ?? []).forEach((binding, j) => {
        if (!workspaceNames.has(binding.name)) add([...here, 'workspaces', j, 'name'], `unknown workspace "${binding.name}"`);
        if (!binding.mountPath.startsWith('/')) add([...here, 'workspaces', j, 'mountPath'], 'must be an absolute path');
        if (mounts.has(binding.mountPath)) add([...here, 'workspaces', j, 'mountPath'], 'mounted twice');
        mounts.add(binding.mountPath);
      });
      if (task.workspaces?.length && task.template.namespace !== undefined && task.template.namespace !== spec.namespace) {
        add([...here, 'template', 'namespace'], 'a task with workspaces runs in the workflow namespace (where the PVCs are)');
      }
    });
  }
  return problems;
}

/**
 * line:column of the node at `path` (or of the deepest part of it that exists); of the key
 * itself when `atKey` (an unknown field).
 */
function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly (string | number)[],
  atKey = false,
): { line: number; column: number } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      if (isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      if (atKey && i === path.length - 1) break;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else break;
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range) offset = range[0];
  }
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}
