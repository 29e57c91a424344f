import { TaskState, WorkflowState, type Workflow } from '@wharf/contracts';
import {
  newWorkflow,
  reduceWorkflow,
  resumeWorkflow,
  workflowDeadline,
  type WorkflowAction,
  type WorkflowProgressEvent,
} from './workflow-reducer';
import { cancelled, failed, specFrom, succeeded } from './workflow-test-builders';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

function start(yaml: string): Workflow {
  const spec = specFrom(yaml);
  return newWorkflow({ workflowId: 'wf-1', tenant: 'demo', spec, specHash: 'h', now: t0 });
}

/** Applies events in order, collecting actions. */
async function run(wf: Workflow, events: WorkflowProgressEvent[], now = t0) {
  const actions: WorkflowAction[] = [];
  for (const e of events) {
    const next = await reduceWorkflow(wf, e, now);
    wf = next.workflow;
    actions.push(...next.actions);
  }
  return { wf, actions };
}

const submitted = (actions: readonly WorkflowAction[]) => actions.flatMap((a) => (a.type === 'submit-job' ? [a.task] : []));
const cancels = (actions: readonly WorkflowAction[]) => actions.flatMap((a) => (a.type === 'cancel-job' ? [a.task] : []));
const job = (wf: Workflow, task: string) => wf.tasks.find((t) => t.name === task)?.jobId ?? '';
const stateName = (s: number) => Object.entries(TaskState).find(([, v]) => v === s)?.[0];
const taskStates = (wf: Workflow) => Object.fromEntries(wf.tasks.map((t) => [t.name, stateName(t.state)]));

const diamond = `name: diamond
namespace: default
tasks:
  - { name: a, template: { image: i } }
  - { name: b, dependsOn: [a], template: { image: i, args: ["{{ tasks.a.output }}"] } }
  - { name: c, dependsOn: [a], template: { image: i } }
  - { name: d, dependsOn: [b, c], template: { image: i } }
finally:
  - { name: cleanup, template: { image: i, args: ["{{ workflow.status }}"] } }
`;

describe('reduceWorkflow', () => {
  it('runs a diamond in dependency order, outputs flowing downstream, then finally', async () => {
    let { wf, actions } = await run(start(diamond), [{ type: 'submitted' }]);
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_RUNNING);
    expect(submitted(actions)).toEqual(['a']);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'a'), '{"v":1}')]));
    expect(submitted(actions)).toEqual(['b', 'c']);
    const b = actions.find((x) => x.type === 'submit-job' && x.task === 'b');
    expect(b?.type === 'submit-job' && b.spec.args).toEqual(['{"v":1}']);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'b'))]));
    expect(submitted(actions)).toEqual([]);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'c'))]));
    expect(submitted(actions)).toEqual(['d']);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'd'))]));
    expect(submitted(actions)).toEqual(['cleanup']);
    const cleanup = actions.find((x) => x.type === 'submit-job');
    expect(cleanup?.type === 'submit-job' && cleanup.spec.args).toEqual(['Succeeded']);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'cleanup'))], at(10)));
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_SUCCEEDED);
    expect(wf.finishedAt).toEqual(at(10));
    expect(actions).toContainEqual({ type: 'finish-workflow', state: WorkflowState.WORKFLOW_STATE_SUCCEEDED, message: '' });
    // Events are numbered without gaps.
    const all = (await replayAll(diamond)).events;
    expect(all.map((e) => e.sequence)).toEqual(all.map((_, i) => i + 1));
  });

  it('a failed task fails the workflow: nothing new starts, running tasks finish, finally runs', async () => {
    let { wf } = await run(start(diamond), [{ type: 'submitted' }]);
    ({ wf } = await run(wf, [succeeded(job(wf, 'a'))]));
    let actions: WorkflowAction[];
    ({ wf, actions } = await run(wf, [failed(job(wf, 'b'))]));
    expect(submitted(actions)).toEqual([]);
    expect(taskStates(wf)).toMatchObject({ b: 'TASK_STATE_FAILED', c: 'TASK_STATE_RUNNING', d: 'TASK_STATE_SKIPPED' });
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'c'))]));
    expect(submitted(actions)).toEqual(['cleanup']);
    const cleanup = actions.find((x) => x.type === 'submit-job');
    expect(cleanup?.type === 'submit-job' && cleanup.spec.args).toEqual(['Failed']);
    ({ wf } = await run(wf, [succeeded(job(wf, 'cleanup'))]));
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_FAILED);
    expect(wf.message).toBe('task "b" failed: failed indexes: 0');
  });

  it('when false skips the task and, transitively, its dependents; independent tasks run', async () => {
    const yaml = `name: cond
namespace: default
parameters: { deploy: "false" }
tasks:
  - { name: a, template: { image: i } }
  - { name: gate, dependsOn: [a], when: "{{ params.deploy }} == true", template: { image: i } }
  - { name: after-gate, dependsOn: [gate], template: { image: i } }
  - { name: after-after, dependsOn: [after-gate], template: { image: i } }
  - { name: other, dependsOn: [a], when: "tasks.a.output.ok = true", template: { image: i } }
`;
    let { wf, actions } = await run(start(yaml), [{ type: 'submitted' }]);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'a'), '{"ok":true}')]));
    expect(submitted(actions)).toEqual(['other']);
    expect(taskStates(wf)).toMatchObject({ gate: 'TASK_STATE_SKIPPED', 'after-gate': 'TASK_STATE_SKIPPED', 'after-after': 'TASK_STATE_SKIPPED' });
    expect(wf.tasks.find((t) => t.name === 'after-gate')?.message).toBe('upstream task "gate" skipped');
    ({ wf } = await run(wf, [succeeded(job(wf, 'other'))]));
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_SUCCEEDED);
  });

  it('respects the workflow parallelism limit', async () => {
    const yaml = `name: par
namespace: default
parallelism: 2
tasks:
  - { name: a, template: { image: i } }
  - { name: b, template: { image: i } }
  - { name: c, template: { image: i } }
finally:
  - { name: f, template: { image: i } }
`;
    let { wf, actions } = await run(start(yaml), [{ type: 'submitted' }]);
    expect(submitted(actions)).toEqual(['a', 'b']);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'b'))]));
    expect(submitted(actions)).toEqual(['c']);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'a')), succeeded(job(wf, 'c'))]));
    expect(submitted(actions)).toEqual(['f']);
  });

  it('cancel: cancels running tasks, starts nothing new, no finally, ends CANCELLED', async () => {
    let { wf } = await run(start(diamond), [{ type: 'submitted' }]);
    ({ wf } = await run(wf, [succeeded(job(wf, 'a'))]));
    let actions: WorkflowAction[];
    ({ wf, actions } = await run(wf, [{ type: 'cancel-requested', reason: 'user' }]));
    expect(cancels(actions).sort()).toEqual(['b', 'c']);
    expect(taskStates(wf)).toMatchObject({ d: 'TASK_STATE_CANCELLED', cleanup: 'TASK_STATE_CANCELLED' });
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_RUNNING);
    ({ wf, actions } = await run(wf, [cancelled(job(wf, 'b')), succeeded(job(wf, 'c'))]));
    expect(submitted(actions)).toEqual([]);
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_CANCELLED);
    expect(wf.message).toBe('workflow cancelled: user');
    expect(taskStates(wf)).toMatchObject({ b: 'TASK_STATE_CANCELLED', c: 'TASK_STATE_SUCCEEDED' });
  });

  it('cancelling a PENDING workflow ends it at once', async () => {
    const { wf, actions } = await run(start(diamond), [{ type: 'cancel-requested', reason: '' }]);
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_CANCELLED);
    expect(submitted(actions)).toEqual([]);
  });

  it('timeout: cancels running tasks, skips the rest, then runs finally; ends FAILED', async () => {
    const yaml = diamond.replace('namespace: default', 'namespace: default\ntimeoutSeconds: 60');
    let { wf } = await run(start(yaml), [{ type: 'submitted' }]);
    expect(workflowDeadline(wf)).toEqual(at(60));
    let actions: WorkflowAction[];
    ({ wf, actions } = await run(wf, [{ type: 'timer' }], at(59)));
    expect(actions).toEqual([]);
    ({ wf, actions } = await run(wf, [{ type: 'timer' }], at(60)));
    expect(cancels(actions)).toEqual(['a']);
    expect(taskStates(wf)).toMatchObject({ b: 'TASK_STATE_SKIPPED', d: 'TASK_STATE_SKIPPED', cleanup: 'TASK_STATE_WAITING' });
    ({ wf, actions } = await run(wf, [cancelled(job(wf, 'a'))], at(61)));
    expect(submitted(actions)).toEqual(['cleanup']);
    expect(workflowDeadline(wf)).toBeUndefined();
    ({ wf } = await run(wf, [succeeded(job(wf, 'cleanup'))], at(62)));
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_FAILED);
    expect(wf.message).toBe('workflow timed out');
  });

  it('withParam fans out over an upstream output as ONE job; downstream sees per-index outputs', async () => {
    const yaml = `name: fan
namespace: default
tasks:
  - { name: list, template: { image: i } }
  - name: each
    dependsOn: [list]
    withParam: "{{ tasks.list.output }}"
    template: { image: i, command: [sh, -c, "work {{ item }}"] }
  - { name: sum, dependsOn: [each], template: { image: i, args: ["{{ tasks.each.outputs[1] }}", "{{ tasks.each.output }}"] } }
`;
    let { wf, actions } = await run(start(yaml), [{ type: 'submitted' }]);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'list'), '["r1","r2","r3"]')]));
    const each = actions.filter((a) => a.type === 'submit-job');
    expect(each).toHaveLength(1);
    expect(each[0]?.type === 'submit-job' && each[0].spec.items).toEqual(['r1', 'r2', 'r3']);
    ({ wf, actions } = await run(wf, [succeeded(job(wf, 'each'), '{"n":1}', '', '{"n":3}')]));
    expect(wf.tasks.find((t) => t.name === 'each')?.outputJson).toBe('[{"n":1},null,{"n":3}]');
    const sum = actions.find((a) => a.type === 'submit-job');
    expect(sum?.type === 'submit-job' && sum.spec.args).toEqual(['', '[{"n":1},null,{"n":3}]']);
  });

  it('fails a task whose withParam is not a list, and succeeds an empty fan-out without a job', async () => {
    const yaml = `name: fan
namespace: default
tasks:
  - { name: list, template: { image: i } }
  - { name: each, dependsOn: [list], withParam: "{{ tasks.list.output }}", template: { image: i } }
`;
    let { wf } = await run(start(yaml), [{ type: 'submitted' }]);
    const listJob = job(wf, 'list');
    const bad = await run(wf, [succeeded(listJob, '{"no":1}')]);
    expect(bad.wf.state).toBe(WorkflowState.WORKFLOW_STATE_FAILED);
    expect(bad.wf.tasks[1]?.message).toMatch(/did not resolve to a JSON list/);
    ({ wf } = await run(wf, [succeeded(listJob, '[]')]));
    expect(wf.state).toBe(WorkflowState.WORKFLOW_STATE_SUCCEEDED);
    expect(wf.tasks[1]).toMatchObject({ state: TaskState.TASK_STATE_SUCCEEDED, outputJson: '[]', jobId: '' });
  });

  it('is restart-safe: duplicates and stale events change nothing, finished tasks never resubmit', async () => {
    const { wf: first } = await run(start(diamond), [{ type: 'submitted' }]);
    const a = succeeded(job(first, 'a'), '1');
    const { wf } = await run(first, [a]);
    for (const e of [{ type: 'submitted' } as const, a, succeeded('someone-elses-job'), failed(job(first, 'a'))]) {
      const again = await reduceWorkflow(wf, e, at(5));
      expect(again.workflow).toBe(wf);
      expect(again.actions).toEqual([]);
    }
    // The same history replayed from the start gives the same state.
    const replayed = await run(start(diamond), [{ type: 'submitted' }, a]);
    expect(replayed.wf).toEqual(wf);
    // After a restart: re-submit (same ids, same specs) only what is running.
    const resumed = await resumeWorkflow(wf, at(100));
    const fresh = await run(first, [a]);
    expect(resumed.actions).toEqual(fresh.actions.filter((x) => x.type === 'submit-job'));
    expect(submitted(resumed.actions)).toEqual(['b', 'c']);
  });

  it('does not mutate its input', async () => {
    const wf = start(diamond);
    const before = structuredClone(wf);
    await reduceWorkflow(wf, { type: 'submitted' }, t0);
    expect(wf).toEqual(before);
  });

  it('fails a task whose stored output would be too large', async () => {
    let { wf } = await run(start(diamond), [{ type: 'submitted' }]);
    const big = JSON.stringify('x'.repeat(300 * 1024));
    ({ wf } = await run(wf, [succeeded(job(wf, 'a'), big)]));
    expect(wf.tasks[0]).toMatchObject({ state: TaskState.TASK_STATE_FAILED, message: expect.stringMatching(/larger than/) });
  });
});

async function replayAll(yaml: string) {
  let { wf, actions } = await run(start(yaml), [{ type: 'submitted' }]);
  const all = [...actions];
  for (let guard = 0; guard < 20 && wf.state === WorkflowState.WORKFLOW_STATE_RUNNING; guard++) {
    const running = wf.tasks.filter((t) => t.state === TaskState.TASK_STATE_RUNNING);
    ({ wf, actions } = await run(wf, running.map((t) => succeeded(t.jobId))));
    all.push(...actions);
  }
  return { wf, events: all.flatMap((a) => (a.type === 'publish-event' ? [a.event] : [])) };
}
