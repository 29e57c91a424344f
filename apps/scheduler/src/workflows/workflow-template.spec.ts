import { evaluateCondition, parseCondition, parseTemplate, renderTemplate, type TemplateScope } from './workflow-template';

const now = new Date('2026-01-01T00:00:00Z');
const scope: TemplateScope = {
  params: { greeting: 'hello', deploy: 'true', n: '3', evil: '") or true or ("' },
  tasks: {
    list: { status: 'Succeeded', output: ['a', 'b'], fanOut: false },
    fan: { status: 'Succeeded', output: [{ x: 1 }, null, 'z'], fanOut: true },
    obj: { status: 'Succeeded', output: { deploy: false, name: 'n' }, fanOut: false },
    none: { status: 'Skipped', fanOut: false },
  },
  workflow: { id: 'wf-1', name: 'wf', namespace: 'default', status: 'Succeeded' },
};

describe('templates', () => {
  it('renders parameters, outputs, per-index outputs, item and workflow fields', () => {
    expect(renderTemplate('{{params.greeting}} {{ workflow.id }}', scope)).toBe('hello wf-1');
    expect(renderTemplate('{{ tasks.list.output }}', scope)).toBe('["a","b"]');
    expect(renderTemplate('{{ tasks.fan.outputs[0] }}|{{ tasks.fan.outputs[1] }}|{{ tasks.fan.outputs[2] }}|{{ tasks.fan.outputs[9] }}', scope)).toBe(
      '{"x":1}||z|',
    );
    expect(renderTemplate('{{ tasks.none.output }}{{ tasks.none.status }}', scope)).toBe('Skipped');
    expect(renderTemplate('echo {{ item }}', scope)).toBe('echo ${WHARF_ITEM}');
    expect(renderTemplate('no templates $(X) {x}', scope)).toBe('no templates $(X) {x}');
  });

  it('refuses anything that is not a reference, and unbalanced braces', () => {
    expect(parseTemplate('{{ params.a | upper }}').ok).toBe(false);
    expect(parseTemplate('{{ constructor.constructor("x")() }}').ok).toBe(false);
    expect(parseTemplate('{{ params.a }').ok).toBe(false);
    expect(parseTemplate('a {{ b').ok).toBe(false);
    // A lone "}}" is text: JSON with nested objects needs no escaping.
    expect(renderTemplate('{"a": {"b": {{ params.n }}}}', scope)).toBe('{"a": {"b": 3}}');
    expect(parseTemplate('{{ tasks.a.output[0] }}').ok).toBe(false);
  });
});

describe('conditions', () => {
  it('evaluates JSONata over params, tasks and workflow', async () => {
    expect(await evaluateCondition('', scope, now)).toBe(true);
    expect(await evaluateCondition('params.deploy = "true"', scope, now)).toBe(true);
    expect(await evaluateCondition('{{ params.deploy }} == true', scope, now)).toBe(true);
    expect(await evaluateCondition('{{ params.n }} > 2 and tasks.obj.output.name = "n"', scope, now)).toBe(true);
    expect(await evaluateCondition('tasks.obj.output.deploy', scope, now)).toBe(false);
    expect(await evaluateCondition('$count(tasks.fan.outputs) = 3', scope, now)).toBe(true);
    expect(await evaluateCondition('tasks.none.status = "Skipped"', scope, now)).toBe(true);
    expect(await evaluateCondition('tasks.nothing.output', scope, now)).toBe(false);
    expect(await evaluateCondition('"a == b" = "a == b"', scope, now)).toBe(true);
  });

  it('binds {{ }} values as data, never as code', async () => {
    expect(await evaluateCondition('{{ params.evil }} = "x"', scope, now)).toBe(false);
  });

  it('uses the injected clock and refuses $random', async () => {
    expect(await evaluateCondition('$now() = "2026-01-01T00:00:00.000Z"', scope, now)).toBe(true);
    await expect(evaluateCondition('$random() > 0.5', scope, now)).rejects.toThrow(/random/);
  });

  it('reports syntax errors and references', () => {
    expect(parseCondition('a = (').ok).toBe(false);
    expect(parseCondition('{{ item }} = 1').ok).toBe(false);
    expect(parseCondition('{{ tasks.a.output }} = 1 and {{ params.p }}').references).toEqual([
      { kind: 'task-output', task: 'a' },
      { kind: 'param', name: 'p' },
    ]);
  });
});
