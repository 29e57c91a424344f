import jsonata from 'jsonata';

/**
 * The template syntax of workflow specs: `{{ <reference> }}` inside strings, nothing else.
 * There are no expressions, filters or function calls — a reference names a value:
 *
 * | reference                          | value                                                   |
 * |------------------------------------|---------------------------------------------------------|
 * | `params.<name>`                    | a workflow parameter (a string)                          |
 * | `tasks.<task>.output`              | the task's output; a fan-out's is the list of outputs    |
 * | `tasks.<task>.outputs`             | a fan-out's list of per-index outputs                    |
 * | `tasks.<task>.outputs[<i>]`        | index i's output of a fan-out                            |
 * | `tasks.<task>.status`              | Succeeded, Failed, Skipped, Cancelled (finally tasks)    |
 * | `item`                             | a fan-out's own item: `${WHARF_ITEM}` for the shell      |
 * | `workflow.id` / `.name` / `.namespace` / `.status` | the workflow (status: Succeeded/Failed so far) |
 *
 * Rendered into a string, a string value is inserted as is and any other JSON value as JSON text.
 * A reference to something absent (an output a task never emitted) renders as "".
 */

export type TemplateReference =
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'task-output'; readonly task: string }
  | { readonly kind: 'task-outputs'; readonly task: string; readonly index?: number }
  | { readonly kind: 'task-status'; readonly task: string }
  | { readonly kind: 'item' }
  | { readonly kind: 'workflow'; readonly field: 'id' | 'name' | 'namespace' | 'status' };

export interface TemplatePart {
  readonly text: string;
  readonly reference?: TemplateReference;
  /** The reference as written, e.g. `tasks.list.output`. */
  readonly source?: string;
}

export type TemplateParse =
  | { readonly ok: true; readonly parts: readonly TemplatePart[] }
  | { readonly ok: false; readonly message: string };

const placeholder = /\{\{([^{}]*)\}\}/g;
const name = '[A-Za-z_][A-Za-z0-9_-]*';
const paramRef = new RegExp(`^params\\.(${name})$`);
const taskRef = new RegExp(`^tasks\\.(${name})\\.(output|outputs|status)(?:\\[(\\d+)\\])?$`);
const workflowRef = /^workflow\.(id|name|namespace|status)$/;

export function parseReference(source: string): TemplateReference | undefined {
  if (source === 'item') return { kind: 'item' };
  const param = paramRef.exec(source);
  if (param?.[1]) return { kind: 'param', name: param[1] };
  const task = taskRef.exec(source);
  if (task?.[1] && task[2]) {
    const index = task[3] === undefined ? undefined : Number(task[3]);
    if (task[2] === 'outputs') return index === undefined ? { kind: 'task-outputs', task: task[1] } : { kind: 'task-outputs', task: task[1], index };
    if (index !== undefined) return undefined;
    return task[2] === 'output' ? { kind: 'task-output', task: task[1] } : { kind: 'task-status', task: task[1] };
  }
  const wf = workflowRef.exec(source);
  if (wf?.[1]) return { kind: 'workflow', field: wf[1] as 'id' | 'name' | 'namespace' | 'status' };
  return undefined;
}

/** Splits a string into literal text and references; an unknown reference is an error. */
export function parseTemplate(text: string): TemplateParse {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of text.matchAll(placeholder)) {
    const source = (match[1] ?? '').trim();
    const reference = parseReference(source);
    if (!reference) return { ok: false, message: `unsupported template reference "{{ ${source} }}"` };
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ text: match[0], reference, source });
    last = match.index + match[0].length;
  }
  const rest = text.slice(last);
  // A "{{" that opens no reference is a mistake; a lone "}}" is literal text (nested JSON).
  if (rest.includes('{{') || parts.some((p) => !p.reference && p.text.includes('{{'))) {
    return { ok: false, message: 'unbalanced "{{": every "{{" needs its "}}"' };
  }
  if (rest) parts.push({ text: rest });
  return { ok: true, parts };
}

export function referencesOf(parse: TemplateParse): readonly TemplateReference[] {
  return parse.ok ? parse.parts.flatMap((p) => (p.reference ? [p.reference] : [])) : [];
}

export function referencedTask(reference: TemplateReference): string | undefined {
  return reference.kind === 'task-output' || reference.kind === 'task-outputs' || reference.kind === 'task-status'
    ? reference.task
    : undefined;
}

/** What a finished (or not) task looks like to templates and conditions. */
export interface TaskScope {
  /** Succeeded, Failed, Skipped, Cancelled, Running, Waiting. */
  readonly status: string;
  /** The parsed output; a fan-out's is the list of per-index outputs. Undefined: none. */
  readonly output?: unknown;
  readonly fanOut: boolean;
}

export interface TemplateScope {
  readonly params: Readonly<Record<string, string>>;
  readonly tasks: Readonly<Record<string, TaskScope>>;
  readonly workflow: { readonly id: string; readonly name: string; readonly namespace: string; readonly status: string };
}

/** How `{{ item }}` renders: the launcher exports WHARF_ITEM, so the container's shell expands it. */
export const itemShellReference = '${WHARF_ITEM}';

/** The typed value of a reference (undefined when absent). */
export function resolveReference(reference: TemplateReference, scope: TemplateScope): unknown {
  switch (reference.kind) {
    case 'param':
      return scope.params[reference.name];
    case 'task-output':
      return scope.tasks[reference.task]?.output;
    case 'task-outputs': {
      const output = scope.tasks[reference.task]?.output;
      if (reference.index === undefined) return output;
      return Array.isArray(output) ? output[reference.index] : undefined;
    }
    case 'task-status':
      return scope.tasks[reference.task]?.status;
    case 'item':
      return itemShellReference;
    case 'workflow':
      return scope.workflow[reference.field];
  }
}

/** A value as it is inserted into a string: strings as is, absent as "", the rest as JSON. */
export function valueToText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Renders a string; call only with text that passed validation (unknown references throw). */
export function renderTemplate(text: string, scope: TemplateScope): string {
  if (!text.includes('{{')) return text;
  const parse = parseTemplate(text);
  if (!parse.ok) throw new TypeError(`template not validated: ${parse.message}`);
  return parse.parts.map((p) => (p.reference ? valueToText(resolveReference(p.reference, scope)) : p.text)).join('');
}

// ---- conditions -------------------------------------------------------------------------------

export interface ConditionParse {
  readonly ok: boolean;
  readonly message?: string;
  readonly references: readonly TemplateReference[];
}

/**
 * Rewrites a condition for JSONata: each `{{ ref }}` becomes a bound variable (`$__ref0`, so a
 * value can never inject code), and `==` becomes JSONata's `=` (outside string literals).
 */
function rewriteCondition(condition: string): { expression: string; references: TemplateReference[]; error?: string } {
  const references: TemplateReference[] = [];
  let error: string | undefined;
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < condition.length; i++) {
    const c = condition[i] ?? '';
    if (quote) {
      out += c;
      if (c === '\\') out += condition[++i] ?? '';
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else if (c === '{' && condition[i + 1] === '{') {
      const end = condition.indexOf('}}', i + 2);
      if (end < 0) {
        error = 'unbalanced "{{"';
        break;
      }
      const source = condition.slice(i + 2, end).trim();
      const reference = parseReference(source);
      if (!reference || reference.kind === 'item') {
        error = `unsupported template reference "{{ ${source} }}"`;
        break;
      }
      out += `$__ref${references.length}`;
      references.push(reference);
      i = end + 1;
    } else if (c === '=' && condition[i + 1] === '=') {
      out += '=';
      i++;
    } else out += c;
  }
  return error === undefined ? { expression: out, references } : { expression: out, references, error };
}

/** Checks a `when` condition's syntax and lists its `{{ }}` references. */
export function parseCondition(condition: string): ConditionParse {
  const rewritten = rewriteCondition(condition);
  if (rewritten.error) return { ok: false, message: rewritten.error, references: [] };
  try {
    jsonata(rewritten.expression);
  } catch (error) {
    return { ok: false, message: `not a JSONata expression: ${(error as Error).message}`, references: rewritten.references };
  }
  return { ok: true, references: rewritten.references };
}

/** A parameter inside `{{ }}` of a condition is JSON-decoded when it parses ("true" → true). */
function typedValue(reference: TemplateReference, scope: TemplateScope): unknown {
  const value = resolveReference(reference, scope);
  if (reference.kind !== 'param' || typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** The JSONata input of a condition: `{ params, tasks: { <name>: { status, output } }, workflow }`. */
export function conditionInput(scope: TemplateScope): Record<string, unknown> {
  const tasks: Record<string, unknown> = {};
  for (const [taskName, task] of Object.entries(scope.tasks)) {
    tasks[taskName] = { status: task.status, output: task.output, ...(task.fanOut ? { outputs: task.output } : {}) };
  }
  return { params: scope.params, tasks, workflow: scope.workflow };
}

/**
 * Evaluates a `when` condition with JSONata's boolean rules (`$boolean`: "", 0, [], null and
 * no match are false). An empty condition is true. Throws when evaluation fails. `now` is the
 * injected clock.
 */
export async function evaluateCondition(condition: string, scope: TemplateScope, now: Date): Promise<boolean> {
  if (condition.trim() === '') return true;
  const { expression, references, error } = rewriteCondition(condition);
  if (error) throw new TypeError(`condition not validated: ${error}`);
  // $now/$millis read the injected clock and $random is refused, so replaying an event
  // decides the same way.
  const bindings: Record<string, unknown> = {
    now: () => now.toISOString(),
    millis: () => now.getTime(),
    random: () => {
      throw new TypeError('$random() is not allowed in conditions');
    },
  };
  references.forEach((reference, i) => {
    bindings[`__ref${i}`] = typedValue(reference, scope);
  });
  const compiled = jsonata(`$boolean((${expression}))`);
  const result: unknown = await compiled.evaluate(conditionInput(scope), bindings);
  return result === true;
}
