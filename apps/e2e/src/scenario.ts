import { basename, dirname, join, resolve } from 'node:path';
import { JobSpec, JobState, TaskState, WorkflowState } from '@wharf/contracts';
import { LineCounter, parseDocument, stringify, type Document } from 'yaml';
import { z } from 'zod';
import { eventKinds, isObject, parseEventKind, shortState } from './event-kinds';
import { messageFromJson } from '@wharf/client';
import type { ExpectedStep } from './sequence-matcher';

/**
 * A scenario file (apps/e2e/scenarios/*.yaml): what to submit and what to expect, in the
 * manner of Armada's testsuite. See apps/e2e/README.md for the format.
 */

/** Names of jobs, workflows and scenarios: they end up in idempotency keys, so DNS labels. */
const nameSchema = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be lowercase letters, digits and "-" (a DNS label)',
  )
  .max(40, 'must be at most 40 characters');

/** 90, "90s", "1500ms", "2m" → milliseconds. */
const durationSchema = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  if (typeof raw === 'number') {
    if (raw > 0) return raw * 1000;
  } else {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/.exec(raw.trim());
    if (m) {
      const ms = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[m[2] as 'ms' | 's' | 'm'];
      if (ms > 0) return ms;
    }
  }
  ctx.addIssue({
    code: 'custom',
    message: `expected a duration such as 90s, 1500ms or 2m (or seconds as a number), got ${JSON.stringify(raw)}`,
  });
  return z.NEVER;
});

function enumSchema(values: Record<string, number>, prefix: string) {
  const short = Object.keys(values)
    .map((k) => shortState(k, prefix))
    .filter((k) => k !== 'UNSPECIFIED' && k !== 'UNRECOGNIZED');
  return z.string().transform((raw, ctx) => {
    const name = shortState(raw.trim().toUpperCase(), prefix);
    if (short.includes(name)) return name;
    ctx.addIssue({
      code: 'custom',
      message: `unknown state '${raw}' (one of: ${short.join(', ')})`,
    });
    return z.NEVER;
  });
}
const jobStateSchema = enumSchema(JobState, 'JOB_STATE_');
const workflowStateSchema = enumSchema(WorkflowState, 'WORKFLOW_STATE_');
const taskStateSchema = enumSchema(TaskState, 'TASK_STATE_');

const stepHelp =
  'an event is a kind (run_started) or a mapping of one kind to fields its payload must have (finished: {state: SUCCEEDED})';

/** `run_started`, or `{ run_finished: { state: FAILED } }`. */
const stepSchema = z.unknown().transform((raw, ctx): ExpectedStep => {
  const unknownKind = (name: string) => {
    ctx.addIssue({
      code: 'custom',
      message: `unknown event kind '${name}' (one of: ${eventKinds.join(', ')})`,
    });
    return z.NEVER;
  };
  if (typeof raw === 'string') {
    const kind = parseEventKind(raw);
    return kind ? { kind } : unknownKind(raw);
  }
  if (isObject(raw as never)) {
    const entries = Object.entries(raw as Record<string, unknown>);
    const [entry] = entries;
    if (entries.length === 1 && entry) {
      const [name, fields] = entry;
      const kind = parseEventKind(name);
      if (!kind) return unknownKind(name);
      if (fields === null) return { kind };
      if (isObject(fields as never)) return { kind, fields: fields as Record<string, unknown> };
    }
  }
  ctx.addIssue({ code: 'custom', message: `${stepHelp}; got ${JSON.stringify(raw)}` });
  return z.NEVER;
});

const jobSchema = z
  .object({
    name: nameSchema,
    /** Inline JobSpec (proto3 JSON field names, as YAML). */
    spec: z.record(z.string(), z.unknown()).optional(),
    /** A JobSpec file, relative to the scenario file. */
    specFile: z.string().min(1).optional(),
    cancel: z
      .object({ after: stepSchema, reason: z.string().default('cancelled by the e2e scenario') })
      .strict()
      .optional(),
    expect: z
      .object({
        events: z.array(stepSchema).default([]),
        state: jobStateSchema.optional(),
      })
      .strict(),
  })
  .strict();

const taskExpectSchema = z
  .object({
    state: taskStateSchema.optional(),
    /** Fields the task's output (JSON) must have. */
    output: z.unknown().optional(),
    /** Expected events of the task's job, as for a job. */
    events: z.array(stepSchema).optional(),
  })
  .strict();

const workflowSchema = z
  .object({
    name: nameSchema,
    /** Inline WorkflowSpec (as YAML). */
    spec: z.record(z.string(), z.unknown()).optional(),
    /** A WorkflowSpec file, relative to the scenario file. */
    specFile: z.string().min(1).optional(),
    expect: z
      .object({
        state: workflowStateSchema,
        tasks: z.record(z.string(), taskExpectSchema).default({}),
      })
      .strict(),
  })
  .strict();

const scenarioSchema = z
  .object({
    name: nameSchema.optional(),
    description: z.string().optional(),
    // Zod does not transform defaults: this one is already in milliseconds.
    timeout: durationSchema.default(120_000),
    jobs: z.array(jobSchema).default([]),
    workflows: z.array(workflowSchema).default([]),
  })
  .strict();

export interface JobCase {
  readonly name: string;
  readonly spec: JobSpec;
  readonly cancel?: { readonly after: ExpectedStep; readonly reason: string };
  readonly expect: { readonly events: readonly ExpectedStep[]; readonly state?: string };
}

export interface TaskExpectation {
  readonly state?: string;
  readonly output?: unknown;
  readonly events?: readonly ExpectedStep[];
}

export interface WorkflowCase {
  readonly name: string;
  /** The WorkflowSpec as YAML text, sent as is (server errors then carry its line numbers). */
  readonly text: string;
  readonly expect: {
    readonly state: string;
    readonly tasks: Readonly<Record<string, TaskExpectation>>;
  };
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly timeoutMs: number;
  readonly jobs: readonly JobCase[];
  readonly workflows: readonly WorkflowCase[];
}

/** Thrown by the loaders: every problem found, one per line, each `file:line:col: field: what`. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

type Path = readonly (string | number)[];

function formatPath(path: Path): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p),
    '',
  );
}

/** `file:line:col` of the deepest node of `path` the document has. */
function locate(file: string, doc: Document, lines: LineCounter, path: Path): string {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as
      { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return `${file}:${line}:${col}`;
    }
  }
  return file;
}

export interface ScenarioSources {
  /** Reads a file (spec files); thrown: the fs error. */
  readonly readFile: (path: string) => string;
}

/** The raw entries of `key` (a list of mappings) as the document has them, whatever their shape. */
function rawEntries(
  raw: Record<string, unknown>,
  key: string,
): [number, Record<string, unknown>][] {
  const list = raw[key];
  if (!Array.isArray(list)) return [];
  return list.flatMap((e, i): [number, Record<string, unknown>][] =>
    isObject(e as never) ? [[i, e as Record<string, unknown>]] : [],
  );
}

/**
 * Parses and validates one scenario file. Thrown: ScenarioError listing every problem with the
 * file, line and field (`scenarios/x.yaml:12:11: jobs[0].expect.events[2]: unknown event kind …`).
 */
export function parseScenario(text: string, file: string, sources: ScenarioSources): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const what = e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '');
        return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${what}`;
      }),
    );
  }
  const problems: string[] = [];
  const problem = (path: Path, message: string) =>
    problems.push(
      `${locate(file, doc, lines, path)}: ${path.length ? `${formatPath(path)}: ` : ''}${message}`,
    );

  const raw: unknown = doc.toJS();
  if (!isObject(raw as never)) {
    throw new ScenarioError([`${file}: expected a mapping (name, timeout, jobs, workflows)`]);
  }
  const rawScenario = raw as Record<string, unknown>;

  // 1. The shape (zod).
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problem(issue.path as Path, issue.message);
  }

  // 2. The specs each job and workflow submits, checked even when the shape has problems, so
  //    one run shows them all.
  const baseDir = dirname(file);
  const specText = (where: Path, entry: Record<string, unknown>): string | undefined => {
    const { spec, specFile } = entry;
    if ((spec === undefined) === (specFile === undefined)) {
      problem(where, 'give exactly one of spec (inline) and specFile');
      return undefined;
    }
    if (spec !== undefined) return isObject(spec as never) ? stringify(spec) : undefined; // zod reports it
    if (typeof specFile !== 'string' || specFile === '') return undefined; // zod reports it
    const path = resolve(baseDir, specFile);
    try {
      return sources.readFile(path);
    } catch (error) {
      problem([...where, 'specFile'], `cannot read ${path}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const specObject = (where: Path, text: string, what: string) => {
    const specDoc = parseDocument(text);
    if (specDoc.errors.length > 0) {
      problem(where, `${what} is not valid YAML: ${specDoc.errors[0]?.message.split('\n')[0]}`);
      return undefined;
    }
    const value: unknown = specDoc.toJS();
    if (!isObject(value as never)) {
      problem(where, `${what} must be a mapping of its fields`);
      return undefined;
    }
    return value as Record<string, unknown>;
  };

  const specs = new Map<number, JobSpec>();
  for (const [i, job] of rawEntries(rawScenario, 'jobs')) {
    const where: Path = ['jobs', i, job['specFile'] !== undefined ? 'specFile' : 'spec'];
    const text = specText(['jobs', i], job);
    const object = text === undefined ? undefined : specObject(where, text, 'the JobSpec');
    if (!object) continue;
    try {
      const spec = messageFromJson(JobSpec, 'wharf.v1.JobSpec', object);
      if (!spec.image) problem(where, 'not a valid JobSpec: it needs an image');
      else specs.set(i, spec);
    } catch (error) {
      problem(where, `not a valid JobSpec: ${(error as Error).message}`);
    }
  }

  const workflowTexts = new Map<number, string>();
  for (const [i, workflow] of rawEntries(rawScenario, 'workflows')) {
    const where: Path = ['workflows', i, workflow['specFile'] !== undefined ? 'specFile' : 'spec'];
    const text = specText(['workflows', i], workflow);
    const object = text === undefined ? undefined : specObject(where, text, 'the WorkflowSpec');
    if (!object || text === undefined) continue;
    workflowTexts.set(i, text);
    // The server validates the spec; a task the scenario expects must at least exist.
    const taskNames = ['tasks', 'finally'].flatMap((key) =>
      Array.isArray(object[key])
        ? (object[key] as unknown[]).map((t) =>
            isObject(t as never) ? String((t as Record<string, unknown>)['name']) : '',
          )
        : [],
    );
    const expect = workflow['expect'];
    const tasks = isObject(expect as never)
      ? (expect as Record<string, unknown>)['tasks']
      : undefined;
    for (const task of isObject(tasks as never) ? Object.keys(tasks as object) : []) {
      if (!taskNames.includes(task)) {
        problem(
          ['workflows', i, 'expect', 'tasks', task],
          `the workflow has no task '${task}' (it has: ${taskNames.join(', ') || 'none'})`,
        );
      }
    }
  }

  if (!parsed.success) throw new ScenarioError(problems);
  const s = parsed.data;
  if (s.jobs.length + s.workflows.length === 0) {
    problem([], 'submits nothing: give at least one of jobs, workflows');
  }
  const unique = (kind: string, names: string[]) => {
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        problem([kind, i, 'name'], `'${n}' is used twice in this scenario`);
    });
  };
  unique(
    'jobs',
    s.jobs.map((j) => j.name),
  );
  unique(
    'workflows',
    s.workflows.map((w) => w.name),
  );
  if (problems.length > 0) throw new ScenarioError(problems);

  return {
    name: s.name ?? basename(file).replace(/\.ya?ml$/, ''),
    description: s.description ?? '',
    file,
    timeoutMs: s.timeout,
    jobs: s.jobs.map((job, i) => ({
      name: job.name,
      spec: specs.get(i) as JobSpec,
      ...(job.cancel ? { cancel: job.cancel } : {}),
      expect: {
        events: job.expect.events,
        ...(job.expect.state ? { state: job.expect.state } : {}),
      },
    })),
    workflows: s.workflows.map((workflow, i) => ({
      name: workflow.name,
      text: workflowTexts.get(i) as string,
      expect: {
        state: workflow.expect.state,
        tasks: Object.fromEntries(
          Object.entries(workflow.expect.tasks).map(([task, e]) => [
            task,
            {
              ...(e.state ? { state: e.state } : {}),
              ...(e.output !== undefined ? { output: e.output } : {}),
              ...(e.events ? { events: e.events } : {}),
            },
          ]),
        ),
      },
    })),
  };
}

export interface ScenarioDir extends ScenarioSources {
  /** File names in a directory. */
  readonly readDir: (dir: string) => string[];
}

/**
 * Every `*.yaml` / `*.yml` scenario of `dir`, sorted by file name. Thrown: ScenarioError with
 * the problems of every file (and names used by two files).
 */
export function loadScenarios(dir: string, sources: ScenarioDir): Scenario[] {
  const files = sources
    .readDir(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const problems: string[] = [];
  const scenarios: Scenario[] = [];
  for (const f of files) {
    const file = join(dir, f);
    try {
      scenarios.push(parseScenario(sources.readFile(file), file, sources));
    } catch (error) {
      if (error instanceof ScenarioError) problems.push(...error.problems);
      else problems.push(`${file}: ${(error as Error).message}`);
    }
  }
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    const other = seen.get(s.name);
    if (other) problems.push(`${s.file}: scenario name '${s.name}' is also used by ${other}`);
    seen.set(s.name, s.file);
  }
  if (files.length === 0) problems.push(`${dir}: no scenario files (*.yaml)`);
  if (problems.length > 0) throw new ScenarioError(problems);
  return scenarios;
}
