import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadScenarios, parseScenario, ScenarioError, type Scenario } from './scenario';

const noFiles = {
  readFile: (path: string): string => {
    throw new Error(`ENOENT: no such file, open '${path}'`);
  },
};

function problemsOf(text: string, files: Record<string, string> = {}): string[] {
  try {
    parseScenario(text, '/s/scenarios/x.yaml', {
      readFile: (p) => files[p] ?? noFiles.readFile(p),
    });
  } catch (error) {
    if (error instanceof ScenarioError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the scenario to be rejected');
}

const valid = `
name: cancel-it
description: cancels a job
timeout: 90s
jobs:
  - name: long
    spec:
      name: e2e-long
      image: docker.io/library/busybox:1.36
      items: [a, b]
      parallelism: 2
      retry: { backoff_limit_per_index: 1 }
      annotations: { wharf.dev/sim-duration-ms: '60000' }
    cancel: { after: runStarted }
    expect:
      events:
        - submitted
        - run_started
        - cancel_requested: null
        - run_finished: { state: CANCELLED }
        - finished: { state: cancelled }
      state: job_state_cancelled
`;

describe('parseScenario', () => {
  it('reads jobs: the JobSpec in proto3 JSON, event steps by either name, with fields', () => {
    const s = parseScenario(valid, '/s/x.yaml', noFiles);
    expect(s).toMatchObject({
      name: 'cancel-it',
      description: 'cancels a job',
      file: '/s/x.yaml',
      timeoutMs: 90_000,
      workflows: [],
    });
    const job = s.jobs[0];
    expect(job?.spec).toMatchObject({
      name: 'e2e-long',
      image: 'docker.io/library/busybox:1.36',
      items: ['a', 'b'],
      parallelism: 2,
      retry: { backoffLimitPerIndex: 1 },
      annotations: { 'wharf.dev/sim-duration-ms': '60000' },
    });
    expect(job?.cancel).toEqual({
      after: { kind: 'run_started' },
      reason: 'cancelled by the e2e scenario',
    });
    expect(job?.expect).toEqual({
      events: [
        { kind: 'submitted' },
        { kind: 'run_started' },
        { kind: 'cancel_requested' },
        { kind: 'run_finished', fields: { state: 'CANCELLED' } },
        { kind: 'finished', fields: { state: 'cancelled' } },
      ],
      state: 'CANCELLED',
    });
  });

  it('names the scenario after its file and defaults the timeout to 2 minutes', () => {
    const s = parseScenario(
      'jobs: [{ name: a, spec: { image: i }, expect: {} }]',
      '/s/my-case.yaml',
      noFiles,
    );
    expect(s).toMatchObject({ name: 'my-case', timeoutMs: 120_000 });
    expect(s.jobs[0]?.expect).toEqual({ events: [] });
  });

  it.each([
    ['1500ms', 1_500],
    ['2m', 120_000],
    [45, 45_000],
  ])('reads the timeout %p', (timeout, ms) => {
    const s = parseScenario(
      `timeout: ${timeout}\njobs: [{ name: a, spec: { image: i }, expect: {} }]`,
      '/s/t.yaml',
      noFiles,
    );
    expect(s.timeoutMs).toBe(ms);
  });

  it('reads spec files relative to the scenario file, and workflows as the text to send', () => {
    const files = {
      '/s/specs/job.yaml': 'name: from-file\nimage: docker.io/library/busybox:1.36\n',
      '/s/specs/wf.yaml':
        'name: wf\ntasks:\n  - name: prepare\n    template: { image: i }\n  - name: report\n    template: { image: i }\n',
    };
    const s = parseScenario(
      [
        'jobs: [{ name: a, specFile: ../specs/job.yaml, expect: { state: SUCCEEDED } }]',
        'workflows:',
        '  - name: w',
        '    specFile: ../specs/wf.yaml',
        '    expect: { state: SUCCEEDED, tasks: { prepare: { state: succeeded, output: { count: 3 } }, report: { events: [finished] } } }',
      ].join('\n'),
      '/s/scenarios/x.yaml',
      { readFile: (p) => files[p as keyof typeof files] ?? noFiles.readFile(p) },
    );
    expect(s.jobs[0]?.spec.name).toBe('from-file');
    expect(s.workflows[0]).toEqual({
      name: 'w',
      text: files['/s/specs/wf.yaml'],
      expect: {
        state: 'SUCCEEDED',
        tasks: {
          prepare: { state: 'SUCCEEDED', output: { count: 3 } },
          report: { events: [{ kind: 'finished' }] },
        },
      },
    });
  });

  it('reports every problem with file, line, column and field', () => {
    const problems = problemsOf(
      [
        'name: Bad_Name', // 1
        'timeout: soon', // 2
        'jobs:', // 3
        '  - name: a', // 4
        '    spec:', // 5
        '      image: i', // 6
        '      parallelism: many', // 7
        '    expect:', // 8
        '      events: [submitted, runFinishd, { a: 1, b: 2 }]', // 9
        '      state: DONE', // 10
        '  - name: b', // 11
        '    expect: {}', // 12
        '    colour: red', // 13
      ].join('\n'),
    );
    expect(problems).toEqual([
      '/s/scenarios/x.yaml:1:7: name: must be lowercase letters, digits and "-" (a DNS label)',
      '/s/scenarios/x.yaml:2:10: timeout: expected a duration such as 90s, 1500ms or 2m (or seconds as a number), got "soon"',
      "/s/scenarios/x.yaml:9:27: jobs[0].expect.events[1]: unknown event kind 'runFinishd' (one of: submitted, admitted, run_created, run_started, index_finished, run_finished, finished, cancel_requested, logs_archived)",
      '/s/scenarios/x.yaml:9:39: jobs[0].expect.events[2]: an event is a kind (run_started) or a mapping of one kind to fields its payload must have (finished: {state: SUCCEEDED}); got {"a":1,"b":2}',
      "/s/scenarios/x.yaml:10:14: jobs[0].expect.state: unknown state 'DONE' (one of: QUEUED, ADMITTED, RUNNING, SUCCEEDED, FAILED, CANCELLED)",
      '/s/scenarios/x.yaml:11:5: jobs[1]: Unrecognized key: "colour"',
      '/s/scenarios/x.yaml:6:7: jobs[0].spec: not a valid JobSpec: wharf.v1.JobSpec.parallelism from JSON: expected number (int32), got "many"',
      '/s/scenarios/x.yaml:11:5: jobs[1]: give exactly one of spec (inline) and specFile',
    ]);
  });

  it('rejects JobSpec fields that do not exist, and a spec without an image', () => {
    expect(problemsOf('jobs: [{ name: a, spec: { image: i, colour: red }, expect: {} }]')).toEqual([
      '/s/scenarios/x.yaml:1:25: jobs[0].spec: not a valid JobSpec: wharf.v1.JobSpec from JSON: key "colour" is unknown',
    ]);
    expect(problemsOf('jobs: [{ name: a, spec: { name: x }, expect: {} }]')).toEqual([
      '/s/scenarios/x.yaml:1:25: jobs[0].spec: not a valid JobSpec: it needs an image',
    ]);
  });

  it('reports an unreadable spec file and a task the workflow does not have', () => {
    const problems = problemsOf(
      [
        'jobs: [{ name: a, specFile: nope.yaml, expect: {} }]',
        'workflows:',
        '  - name: w',
        '    spec: { name: w, tasks: [{ name: prepare, template: { image: i } }] }',
        '    expect: { state: SUCCEEDED, tasks: { prepar: { state: SUCCEEDED } } }',
      ].join('\n'),
    );
    expect(problems).toEqual([
      "/s/scenarios/x.yaml:1:29: jobs[0].specFile: cannot read /s/scenarios/nope.yaml: ENOENT: no such file, open '/s/scenarios/nope.yaml'",
      "/s/scenarios/x.yaml:5:50: workflows[0].expect.tasks.prepar: the workflow has no task 'prepar' (it has: prepare)",
    ]);
  });

  it('rejects a scenario that submits nothing, names used twice, and invalid YAML', () => {
    expect(problemsOf('name: empty')).toEqual([
      '/s/scenarios/x.yaml:1:1: submits nothing: give at least one of jobs, workflows',
    ]);
    expect(
      problemsOf(
        'jobs: [{ name: a, spec: { image: i }, expect: {} }, { name: a, spec: { image: i }, expect: {} }]',
      ),
    ).toEqual(["/s/scenarios/x.yaml:1:61: jobs[1].name: 'a' is used twice in this scenario"]);
    expect(problemsOf('jobs: [\n')[0]).toMatch(/^\/s\/scenarios\/x\.yaml:2:1: not valid YAML: /);
    expect(problemsOf('- a list')).toEqual([
      '/s/scenarios/x.yaml: expected a mapping (name, timeout, jobs, workflows)',
    ]);
  });
});

describe('loadScenarios', () => {
  it('loads every shipped scenario (apps/e2e/scenarios), each submitting and expecting something', () => {
    const dir = resolve(__dirname, '../scenarios');
    const scenarios: Scenario[] = loadScenarios(dir, {
      readDir: (d) => readdirSync(d),
      readFile: (p) => readFileSync(p, 'utf8'),
    });
    expect(scenarios.map((s) => s.name)).toEqual([
      'cancel-running',
      'index-retries',
      'indexed-job',
      'job-succeeds',
      'sealed-secret',
      'workflow-output',
    ]);
    for (const s of scenarios) {
      expect(s.file).toBe(join(dir, `${s.name}.yaml`));
      for (const job of s.jobs) expect(job.expect.events.length).toBeGreaterThan(0);
      for (const job of s.jobs) expect(job.expect.state).toBeDefined();
    }
  });

  it('collects the problems of every file and scenario names used twice', () => {
    const files: Record<string, string> = {
      'd/a.yaml': 'name: same\njobs: [{ name: a, spec: { image: i }, expect: {} }]',
      'd/b.yml': 'name: same\njobs: [{ name: a, spec: { image: i }, expect: {} }]',
      'd/c.yaml': 'jobs: 3',
      'd/notes.txt': 'not a scenario',
    };
    const load = () =>
      loadScenarios('d', {
        readDir: () => Object.keys(files).map((f) => f.slice(2)),
        readFile: (p) => files[p] ?? noFiles.readFile(p),
      });
    expect(load).toThrow(ScenarioError);
    try {
      load();
    } catch (error) {
      expect((error as ScenarioError).problems).toEqual([
        'd/c.yaml:1:7: jobs: Invalid input: expected array, received number',
        "d/b.yml: scenario name 'same' is also used by d/a.yaml",
      ]);
    }
  });

  it('says so when a directory has no scenario', () => {
    expect(() => loadScenarios('empty', { readDir: () => [], readFile: noFiles.readFile })).toThrow(
      'empty: no scenario files (*.yaml)',
    );
  });
});
