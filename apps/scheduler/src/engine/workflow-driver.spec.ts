import { JobState, TaskState, WorkflowState, type Observation } from '@wharf/contracts';
import { createLogger } from '@wharf/platform';
import { aQueue } from '../domain/test-builders';
import { defaultSpecLimits } from '../domain/spec-validator';
import { EventHub } from '../state/event-hub';
import { JobStore } from '../state/job-store';
import { MemoryKafka, MemoryStateLog } from '../state/memory-state-log';
import { workflowSpecHash } from '../workflows/workflow-identity';
import { specFrom } from '../workflows/workflow-test-builders';
import { JobEngine } from './job-engine';

const logger = createLogger({ service: 'test', level: 'silent' });

function engine(cluster = new MemoryKafka()) {
  const store = new JobStore();
  const e = new JobEngine({
    store,
    hub: new EventHub(),
    log: new MemoryStateLog(cluster),
    logger,
    now: () => new Date('2026-01-01T00:00:00Z'),
    queues: [aQueue({ name: 'batch', tenants: ['acme'], namespaces: ['team-a'] })],
    capacity: { cpu: Infinity, memory: Infinity, gpu: Infinity, maxRunning: Infinity },
    specLimits: defaultSpecLimits,
    retentionMs: 60_000,
  });
  return { e, store, cluster };
}

const diamond = specFrom(`name: diamond
namespace: team-a
queue: batch
tasks:
  - { name: a, template: { image: busybox:1.36 } }
  - { name: b, dependsOn: [a], template: { image: busybox:1.36 } }
  - { name: c, dependsOn: [a], template: { image: busybox:1.36 } }
  - { name: d, dependsOn: [b, c], template: { image: busybox:1.36 } }
`);

/** Runs every launched job of the cluster to the given end, as job-launcher would report it. */
async function finish(e: JobEngine, store: JobStore, jobId: string, succeeded = true, outputJson = ''): Promise<void> {
  await e.admissionCycle();
  const run = store.get(jobId)?.runs.length ?? 0;
  expect(run).toBeGreaterThan(0);
  const o = (x: Partial<Observation>): Observation => ({ jobId, run, observedAt: undefined, source: 'job-launcher', ...x });
  await e.observe(o({ started: {} }));
  await e.observe(o({ index: { result: { index: 0, succeeded, exitCode: succeeded ? 0 : 1, reason: '', outputJson } } }));
  await e.observe(o({ finished: { succeeded, reason: succeeded ? 'Complete' : 'FailedIndexes', message: '', counts: undefined, failedIndexes: succeeded ? [] : [0] } }));
}

const taskJob = (e: JobEngine, workflowId: string, task: string) => e.workflows.get(workflowId)?.tasks.find((t) => t.name === task)?.jobId ?? '';

describe('workflows in the job engine', () => {
  it('stores the workflow and its first task job in one commit, then runs the DAG in dependency order', async () => {
    const { e, store, cluster } = engine();
    await e.activate();
    const { workflow, created } = await e.submitWorkflow('acme', 'wf-1', diamond, workflowSpecHash(diamond));
    expect(created).toBe(true);
    expect(workflow.state).toBe(WorkflowState.WORKFLOW_STATE_RUNNING);
    const a = taskJob(e, 'wf-1', 'a');
    expect(store.get(a)?.workflowId).toBe('wf-1');
    expect(store.get(a)?.taskName).toBe('a');
    expect(cluster.workflows.get('wf-1')?.tasks.find((t) => t.name === 'a')?.state).toBe(TaskState.TASK_STATE_RUNNING);
    expect(cluster.records.has(a)).toBe(true);

    await finish(e, store, a);
    const [b, c] = [taskJob(e, 'wf-1', 'b'), taskJob(e, 'wf-1', 'c')];
    expect(store.get(b)?.state).toBe(JobState.JOB_STATE_QUEUED);
    expect(store.get(c)?.state).toBe(JobState.JOB_STATE_QUEUED);
    expect(taskJob(e, 'wf-1', 'd')).toBe('');
    await finish(e, store, b);
    expect(taskJob(e, 'wf-1', 'd')).toBe('');
    await finish(e, store, c);
    const d = taskJob(e, 'wf-1', 'd');
    await finish(e, store, d);
    expect(e.workflows.get('wf-1')?.state).toBe(WorkflowState.WORKFLOW_STATE_SUCCEEDED);
    const sequences = cluster.workflowEvents.map((x) => x.sequence);
    expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    // Idempotent: the same submit again answers the stored workflow.
    expect((await e.submitWorkflow('acme', 'wf-1', diamond, workflowSpecHash(diamond))).created).toBe(false);
  });

  it('cancels running task jobs and starts nothing new', async () => {
    const { e, store } = engine();
    await e.activate();
    await e.submitWorkflow('acme', 'wf-2', diamond, workflowSpecHash(diamond));
    const a = taskJob(e, 'wf-2', 'a');
    await e.admissionCycle();
    await e.cancelWorkflow('wf-2', 'user asked');
    expect(store.get(a)?.cancelRequested).toBe(true);
    const run = store.get(a)?.runs.length ?? 0;
    await e.observe({ jobId: a, run, observedAt: undefined, source: 'job-launcher', cancelled: { reason: 'user asked' } });
    const wf = e.workflows.get('wf-2');
    expect(wf?.state).toBe(WorkflowState.WORKFLOW_STATE_CANCELLED);
    expect(wf?.tasks.map((t) => t.jobId).filter(Boolean)).toEqual([a]);
  });

  it('resumes after a takeover without running a finished task again', async () => {
    const cluster = new MemoryKafka();
    const first = engine(cluster);
    await first.e.activate();
    await first.e.submitWorkflow('acme', 'wf-3', diamond, workflowSpecHash(diamond));
    const a = taskJob(first.e, 'wf-3', 'a');
    await finish(first.e, first.store, a);
    const launchesOfA = cluster.commands.filter((c) => c.command.launch?.jobId === a).length;

    const second = engine(cluster);
    await second.e.activate();
    expect(second.e.workflows.get('wf-3')?.tasks.find((t) => t.name === 'a')?.state).toBe(TaskState.TASK_STATE_SUCCEEDED);
    await second.e.admissionCycle();
    for (const task of ['b', 'c', 'd']) {
      const id = taskJob(second.e, 'wf-3', task);
      if (second.store.get(id)?.state !== JobState.JOB_STATE_SUCCEEDED) await finish(second.e, second.store, id);
    }
    expect(second.e.workflows.get('wf-3')?.state).toBe(WorkflowState.WORKFLOW_STATE_SUCCEEDED);
    expect(cluster.commands.filter((c) => c.command.launch?.jobId === a)).toHaveLength(launchesOfA);
  });

  it('fails a task whose rendered job is invalid, with the reason', async () => {
    const { e } = engine();
    await e.activate();
    const spec = specFrom(`name: bad
namespace: team-a
queue: nope
tasks:
  - { name: a, template: { image: busybox:1.36 } }
`);
    await e.submitWorkflow('acme', 'wf-4', spec, workflowSpecHash(spec));
    const wf = e.workflows.get('wf-4');
    expect(wf?.state).toBe(WorkflowState.WORKFLOW_STATE_FAILED);
    expect(wf?.tasks[0]?.message).toMatch(/its job is invalid: .*queue/);
  });
});
