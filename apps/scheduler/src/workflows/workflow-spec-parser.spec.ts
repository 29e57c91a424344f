import { WorkflowSpec } from '@wharf/contracts';
import { InvalidArgumentError } from '@wharf/platform';
import { parseWorkflowText, validateWorkflowSpec, workflowSpecOrThrow, formatPath, type SpecProblem } from './workflow-spec-parser';
import { defaultWorkflowLimits } from './workflow-schema';

const valid = `name: diamond
namespace: default
queue: default
parameters:
  greeting: hello
  count: 3
tasks:
  - name: a
    template:
      image: busybox
      command: [sh, -c, "echo {{ params.greeting }}"]
  - name: b
    dependsOn: [a]
    template: { image: busybox, args: ["{{ tasks.a.output }}"] }
  - name: c
    dependsOn: [a]
    withItems: [x, y]
    template: { image: busybox, command: [sh, -c, "echo {{ item }}"] }
  - name: d
    dependsOn: [b, c]
    when: "{{ tasks.c.outputs[1] }} != null"
    template: { image: busybox, env: { FIRST: "{{ tasks.c.outputs[0] }}" } }
finally:
  - name: report
    template: { image: busybox, args: ["{{ workflow.status }}", "{{ tasks.d.status }}"] }
`;

function problems(text: string): SpecProblem[] {
  const result = parseWorkflowText(text);
  if (result.ok) throw new Error('expected problems');
  return [...result.problems];
}

const at = (p: SpecProblem) => `${formatPath(p.path)} @${p.line}:${p.column} ${p.message}`;

describe('parseWorkflowText', () => {
  it('parses a valid spec into a WorkflowSpec with string parameters', () => {
    const result = parseWorkflowText(valid);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.spec.parameters).toEqual({ greeting: 'hello', count: '3' });
    expect(result.spec.tasks.map((t) => t.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(result.spec.tasks[2]?.withItems).toEqual(['x', 'y']);
    expect(result.spec.finally[0]?.name).toBe('report');
    expect(result.spec.tasks[0]?.template?.command).toEqual(['sh', '-c', 'echo {{ params.greeting }}']);
  });

  it('accepts JSON text, which is YAML', () => {
    const result = parseWorkflowText(
      JSON.stringify({ name: 'j', namespace: 'default', tasks: [{ name: 'a', template: { image: 'busybox' } }] }),
    );
    expect(result.ok).toBe(true);
  });

  it('reports schema problems with their field path and line:column', () => {
    const text = `name: bad
namespace: default
tasks:
  - name: a
    template:
      image: busybox
      imagePullPolicy: Always
  - name: B_bad
    retries: -1
`;
    const found = problems(text).map(at);
    expect(found).toEqual(
      expect.arrayContaining([
        'tasks[0].template.imagePullPolicy @7:7 unknown field',
        expect.stringMatching(/^tasks\[1\]\.name @8:11 must be a DNS label/),
        expect.stringMatching(/^tasks\[1\]\.retries @9:14 /),
        expect.stringMatching(/^tasks\[1\]\.template @8:5 /),
      ]),
    );
  });

  it('reports YAML syntax errors with a line', () => {
    const found = problems('name: x\ntasks: [a\n');
    expect(found[0]?.line).toBeGreaterThanOrEqual(1);
    expect(found[0]?.column).toBeGreaterThanOrEqual(1);
  });

  it('reports unknown dependencies, duplicates and names the cycle', () => {
    const text = `name: dag
namespace: default
tasks:
  - { name: a, dependsOn: [c], template: { image: i } }
  - { name: b, dependsOn: [a], template: { image: i } }
  - { name: c, dependsOn: [b, nope], template: { image: i } }
  - { name: b, template: { image: i } }
  - { name: e, dependsOn: [fin], template: { image: i } }
finally:
  - { name: fin, dependsOn: [a], template: { image: i } }
`;
    const found = problems(text).map(at);
    expect(found).toEqual(
      expect.arrayContaining([
        'tasks[2].dependsOn[1] @6:31 unknown task "nope"',
        'tasks[3].name @7:13 duplicate task name "b" (also tasks[1])',
        'tasks[4].dependsOn[0] @8:28 "fin" is a finally task; tasks cannot depend on finally tasks',
        'finally[0].dependsOn[0] @10:30 finally tasks run after every task; dependsOn may name only finally tasks',
      ]),
    );
  });

  it('names each dependency cycle', () => {
    const text = `name: dag
namespace: default
tasks:
  - { name: a, dependsOn: [c], template: { image: i } }
  - { name: b, dependsOn: [a], template: { image: i } }
  - { name: c, dependsOn: [b], template: { image: i } }
  - { name: d, dependsOn: [d], template: { image: i } }
`;
    expect(problems(text).map(at)).toEqual([
      'tasks[3].dependsOn[0] @7:28 a task cannot depend on itself',
      'tasks[0].dependsOn @4:27 dependency cycle: a → c → b → a',
    ]);
  });

  it('rejects unknown template references before anything runs', () => {
    const text = `name: refs
namespace: default
parameters: { p: "1" }
tasks:
  - name: a
    template: { image: "img:{{ params.nope }}", command: ["{{ item }}"], env: { X: "{{ tasks.b.output }}" } }
  - name: b
    withParam: "{{ params.p }} and more"
    when: "{{ tasks.zz.output }} = 1"
    template: { image: i, serviceAccount: "{{ tasks.a.output }}", args: ["{{ bogus }}", "{{ tasks.a.outputs[0] }}"] }
  - name: c
    dependsOn: [a]
    withItems: [x]
    template: { image: i, env: { I: "{{ item }}" }, args: ["{{ workflow.status }}"] }
`;
    const found = problems(text).map((p) => `${formatPath(p.path)}: ${p.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'tasks[0].template.image: unknown parameter "nope"',
        'tasks[0].template.command[0]: {{ item }} is only defined in a fan-out task (withItems / withParam)',
        'tasks[0].template.env.X: task "b" does not finish before "a": add it to dependsOn',
        expect.stringMatching(/^tasks\[1\]\.withParam: must be exactly one reference/),
        'tasks[1].when: unknown task "zz"',
        expect.stringMatching(/^tasks\[1\]\.template\.serviceAccount: only \{\{ params\.\* \}\}/),
        'tasks[1].template.args[0]: unsupported template reference "{{ bogus }}"',
        'tasks[1].template.args[1]: task "a" does not finish before "b": add it to dependsOn',
        'tasks[2].template.env.I: {{ item }} may be used only in command and args (the container shell expands it)',
        'tasks[2].template.args[0]: {{ workflow.status }} is only defined in finally tasks',
      ]),
    );
  });

  it('checks outputs[i] only on fan-outs, workspaces and conditions', () => {
    const text = `name: ws
namespace: default
workspaces: [{ name: src, claimName: pvc-src }]
tasks:
  - { name: a, template: { image: i } }
  - name: b
    dependsOn: [a]
    when: "tasks.a.output = ("
    workspaces: [{ name: nope, mountPath: rel }]
    template: { image: i, args: ["{{ tasks.a.outputs[0] }}"] }
`;
    const found = problems(text).map((p) => `${formatPath(p.path)}: ${p.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tasks\[1\]\.when: not a JSONata expression/),
        'tasks[1].workspaces[0].name: unknown workspace "nope"',
        'tasks[1].workspaces[0].mountPath: must be an absolute path',
        'tasks[1].template.args[0]: task "a" is not a fan-out; use {{ tasks.a.output }}',
      ]),
    );
  });

  it('enforces size limits', () => {
    const items = Array.from({ length: 11 }, (_, i) => `i${i}`);
    const text = JSON.stringify({ name: 'big', namespace: 'default', tasks: [{ name: 'a', withItems: items, template: { image: 'i' } }] });
    const result = parseWorkflowText(text, { ...defaultWorkflowLimits, maxFanOut: 10 });
    expect(result.ok).toBe(false);
    expect(parseWorkflowText(text, { ...defaultWorkflowLimits, maxSpecBytes: 10 }).ok).toBe(false);
  });
});

describe('validateWorkflowSpec (a spec sent as a message)', () => {
  it('validates the same way as text', () => {
    const parsed = parseWorkflowText(valid);
    if (!parsed.ok) throw new Error('invalid');
    const again = validateWorkflowSpec(parsed.spec);
    expect(again.ok && WorkflowSpec.toJSON(again.spec)).toEqual(WorkflowSpec.toJSON(parsed.spec));
    const broken = WorkflowSpec.fromPartial({ ...parsed.spec, tasks: [...parsed.spec.tasks, { ...parsed.spec.tasks[0], name: 'e', dependsOn: ['x'] }] });
    const result = validateWorkflowSpec(broken);
    expect(result.ok).toBe(false);
  });

  it('throws INVALID_ARGUMENT listing every problem, with lines for text', () => {
    expect(() => workflowSpecOrThrow({ text: 'name: x\nnamespace: d\ntasks:\n  - { name: a, dependsOn: [b], template: { image: i } }\n' })).toThrow(
      InvalidArgumentError,
    );
    try {
      workflowSpecOrThrow({ text: 'name: x\nnamespace: d\ntasks:\n  - { name: a, dependsOn: [b], template: { image: i } }\n' });
    } catch (error) {
      expect((error as InvalidArgumentError).violations).toEqual([
        { field: 'tasks[0].dependsOn[0]', description: 'line 4:28: unknown task "b"' },
      ]);
    }
  });
});
