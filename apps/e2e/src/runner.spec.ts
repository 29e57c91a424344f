import {
  JobEvent,
  JobState,
  RunState,
  TaskState,
  Workflow,
  WorkflowState,
  type CancelJobResponse,
  type SubmitJobRequest,
  type SubmitJobResponse,
  type SubmitWorkflowRequest,
  type SubmitWorkflowResponse,
  type WatchJobResponse,
  type WatchWorkflowResponse,
} from '@wharf/contracts';
import { parseScenario } from './scenario';
import { idempotencyKey, runScenario, withWorkflowDefaults } from './runner';
import { formatOutcome, formatSummary } from './report';
import { ApiError, type WharfApi } from './wharf-api';

type EventPart = Omit<Partial<JobEvent>, 'jobId' | 'sequence'>;

const happy: EventPart[] = [
  { state: JobState.JOB_STATE_QUEUED, submitted: {} },
  { state: JobState.JOB_STATE_ADMITTED, admitted: { jobName: 'k' } },
  { state: JobState.JOB_STATE_ADMITTED, runCreated: { jobName: 'k', namespace: 'default' } },
  { state: JobState.JOB_STATE_RUNNING, runStarted: {} },
  {
    state: JobState.JOB_STATE_RUNNING,
    indexFinished: {
      result: { index: 0, succeeded: true, exitCode: 0, reason: 'Completed', outputJson: '' },
    },
  },
  {
    state: JobState.JOB_STATE_RUNNING,
    runFinished: {
      state: RunState.RUN_STATE_SUCCEEDED,
      reason: 'Complete',
      message: '',
      willRetry: false,
    },
  },
  {
    state: JobState.JOB_STATE_SUCCEEDED,
    finished: { state: JobState.JOB_STATE_SUCCEEDED, reason: 'Complete', message: '' },
  },
];

/** An in-memory scheduler: per job an event log that watchers follow live, as WatchJob does. */
class FakeWharf implements WharfApi {
  readonly submits: SubmitJobRequest[] = [];
  readonly workflowSubmits: SubmitWorkflowRequest[] = [];
  readonly cancels: { jobId: string; reason: string }[] = [];
  readonly workflowCancels: string[] = [];
  private readonly logs = new Map<string, JobEvent[]>();
  private readonly wakers = new Set<() => void>();
  /** What a submitted job does: events emitted at once. */
  onSubmit: (jobId: string) => EventPart[] = () => happy;
  onCancel: (jobId: string) => EventPart[] = () => [];
  /** Makes the next WatchJob calls fail after `events` events (a dropped connection). */
  dropAfter: number[] = [];
  workflows = new Map<string, { workflow: Workflow; events: WatchWorkflowResponse[] }>();
  watchCalls: { jobId: string; after: number }[] = [];

  emit(jobId: string, parts: EventPart[]): void {
    const log = this.logs.get(jobId) ?? [];
    for (const part of parts)
      log.push(
        JobEvent.fromPartial({ ...part, jobId, sequence: log.length + 1, run: part.run ?? 1 }),
      );
    this.logs.set(jobId, log);
    for (const wake of [...this.wakers]) wake();
  }

  async submitJob(request: SubmitJobRequest): Promise<SubmitJobResponse> {
    this.submits.push(request);
    this.emit(request.idempotencyKey, this.onSubmit(request.idempotencyKey));
    return { job: undefined, created: true };
  }

  async cancelJob(jobId: string, reason: string): Promise<CancelJobResponse> {
    this.cancels.push({ jobId, reason });
    this.emit(jobId, this.onCancel(jobId));
    return { job: undefined };
  }

  async *watchJob(
    jobId: string,
    afterSequence: number,
    signal: AbortSignal,
  ): AsyncIterable<WatchJobResponse> {
    this.watchCalls.push({ jobId, after: afterSequence });
    const dropAfter = this.dropAfter.shift();
    let next = afterSequence;
    let sent = 0;
    while (!signal.aborted) {
      const log = this.logs.get(jobId) ?? [];
      const event = log[next];
      if (event) {
        if (dropAfter !== undefined && sent === dropAfter)
          throw new ApiError('UNAVAILABLE: connection dropped', 14);
        next++;
        sent++;
        yield { event, heartbeat: undefined, resumeToken: String(event.sequence) };
        continue;
      }
      // Nothing new: a heartbeat, then wait for an event or the end of the call.
      yield { event: undefined, heartbeat: { time: new Date(), resumeToken: '' }, resumeToken: '' };
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.wakers.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.wakers.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  async submitWorkflow(request: SubmitWorkflowRequest): Promise<SubmitWorkflowResponse> {
    this.workflowSubmits.push(request);
    return { workflow: undefined, created: true };
  }

  async getWorkflow(workflowId: string): Promise<Workflow> {
    const w = this.workflows.get(workflowId);
    if (!w) throw new ApiError(`NOT_FOUND: no workflow '${workflowId}'`, 5);
    return w.workflow;
  }

  async cancelWorkflow(workflowId: string): Promise<Workflow> {
    this.workflowCancels.push(workflowId);
    return this.getWorkflow(workflowId);
  }

  async *watchWorkflow(
    workflowId: string,
    afterSequence: number,
    signal: AbortSignal,
  ): AsyncIterable<WatchWorkflowResponse> {
    for (const e of this.workflows.get(workflowId)?.events ?? []) {
      if (signal.aborted) return;
      if ((e.event?.sequence ?? 0) > afterSequence) yield e;
    }
  }
}

const options = (api: WharfApi) => ({
  api,
  runId: 'r1',
  namespace: 'default',
  queue: 'default',
  reconnectDelayMs: 1,
});
const scenario = (text: string) => parseScenario(text, '/s/t.yaml', { readFile: () => '' });

describe('runScenario: jobs', () => {
  it('passes when the events come in the expected order; fills namespace, queue, name and a unique key', async () => {
    const api = new FakeWharf();
    const outcome = await runScenario(
      scenario(`
name: ok
timeout: 10s
jobs:
  - name: hello
    spec: { image: busybox }
    expect:
      events: [submitted, admitted, run_started, { run_finished: { state: SUCCEEDED } }, finished]
      state: SUCCEEDED
`),
      options(api),
    );
    expect(outcome.passed).toBe(true);
    expect(outcome.jobs[0]).toMatchObject({
      jobId: 'ok-hello-r1',
      state: 'SUCCEEDED',
      problems: [],
      matched: [1, 2, 4, 6, 7],
    });
    expect(api.submits[0]).toMatchObject({
      idempotencyKey: 'ok-hello-r1',
      spec: { name: 'hello', image: 'busybox', namespace: 'default', queue: 'default' },
    });
    expect(formatOutcome(outcome, 2, false)[0]).toMatch(
      /^PASS {2}ok {2}\s+\d+\.\ds {2}hello SUCCEEDED \d+\.\ds$/,
    );
  });

  it('fails with expected vs seen when the final state differs', async () => {
    const api = new FakeWharf();
    api.onSubmit = () => [
      ...happy.slice(0, 4),
      {
        state: JobState.JOB_STATE_RUNNING,
        runFinished: {
          state: RunState.RUN_STATE_FAILED,
          reason: 'FailedIndexes',
          message: '',
          willRetry: false,
        },
      },
      {
        state: JobState.JOB_STATE_FAILED,
        finished: { state: JobState.JOB_STATE_FAILED, reason: 'FailedIndexes', message: '' },
      },
    ];
    const outcome = await runScenario(
      scenario(`
name: bad
jobs:
  - name: j
    spec: { image: busybox }
    expect: { events: [submitted, { run_finished: { state: SUCCEEDED } }, finished], state: SUCCEEDED }
`),
      options(api),
    );
    expect(outcome.passed).toBe(false);
    expect(outcome.jobs[0]?.problems).toEqual([
      'expected events did not all come (the job finished)',
      'final state FAILED (FailedIndexes), expected SUCCEEDED',
    ]);
    const report = formatOutcome(outcome, 3, false).join('\n');
    expect(report).toContain('FAIL  bad');
    expect(report).toContain('expected: submitted → run_finished {"state":"SUCCEEDED"} → finished');
    expect(report).toContain('#5   +');
    expect(report).toContain('run_finished(FAILED FailedIndexes) → RUNNING');
    expect(report).toContain(
      '#5 run_finished(FAILED FailedIndexes) did not match: state: expected "SUCCEEDED", got "RUN_STATE_FAILED"',
    );
    expect(formatSummary([outcome], 1234)).toBe(
      '1 scenario(s): 0 passed, 1 failed (failed: bad) in 1.2s',
    );
  });

  it('cancels after the named event and follows the job to CANCELLED', async () => {
    const api = new FakeWharf();
    api.onSubmit = () => happy.slice(0, 4);
    api.onCancel = () => [
      { state: JobState.JOB_STATE_RUNNING, cancelRequested: { reason: 'stop' } },
      {
        state: JobState.JOB_STATE_RUNNING,
        runFinished: {
          state: RunState.RUN_STATE_CANCELLED,
          reason: 'Cancelled',
          message: '',
          willRetry: false,
        },
      },
      {
        state: JobState.JOB_STATE_CANCELLED,
        finished: { state: JobState.JOB_STATE_CANCELLED, reason: 'Cancelled', message: '' },
      },
    ];
    const outcome = await runScenario(
      scenario(`
name: cancel
jobs:
  - name: long
    spec: { image: busybox }
    cancel: { after: run_started, reason: stop }
    expect:
      events: [run_started, { cancel_requested: { reason: stop } }, { run_finished: { state: CANCELLED } }, finished]
      state: CANCELLED
`),
      options(api),
    );
    expect(api.cancels).toEqual([{ jobId: 'cancel-long-r1', reason: 'stop' }]);
    expect(outcome.passed).toBe(true);
  });

  it('says when the cancel trigger never came', async () => {
    const api = new FakeWharf();
    const outcome = await runScenario(
      scenario(`
jobs:
  - name: j
    spec: { image: busybox }
    cancel: { after: { run_finished: { state: FAILED } } }
    expect: { state: SUCCEEDED }
`),
      options(api),
    );
    expect(api.cancels).toEqual([]);
    expect(outcome.jobs[0]?.problems).toEqual([
      'never cancelled: no run_finished event matched cancel.after',
    ]);
  });

  it('times out a job that does not finish, and cancels what it left running', async () => {
    const api = new FakeWharf();
    api.onSubmit = () => happy.slice(0, 1);
    const outcome = await runScenario(
      scenario(`
name: slow
timeout: 50ms
jobs: [{ name: j, spec: { image: busybox }, expect: { events: [submitted, finished], state: SUCCEEDED } }]
`),
      options(api),
    );
    expect(outcome).toMatchObject({ passed: false, timedOut: true });
    expect(outcome.jobs[0]?.problems).toEqual([
      'timed out after 0.05 s before the job finished (state QUEUED)',
      'expected events did not all come',
    ]);
    expect(outcome.jobs[0]?.explanation).toEqual(['waiting for step 2/2: finished']);
    expect(api.cancels).toEqual([{ jobId: 'slow-j-r1', reason: 'e2e: the scenario timed out' }]);
  });

  it('waits for logs_archived after finished when the scenario expects it', async () => {
    const api = new FakeWharf();
    const run = runScenario(
      scenario(`
jobs: [{ name: j, spec: { image: busybox }, expect: { events: [finished, logs_archived], state: SUCCEEDED } }]
`),
      options(api),
    );
    // The job has finished; the archive comes later.
    await new Promise<void>((resolve) => {
      const check = () => (api.watchCalls.length > 0 ? resolve() : setImmediate(check));
      check();
    });
    api.emit('t-j-r1', [
      {
        state: JobState.JOB_STATE_SUCCEEDED,
        logsArchived: { manifest: 's3://m', objects: 1, bytes: 1, missing: 0 },
      },
    ]);
    const outcome = await run;
    expect(outcome.passed).toBe(true);
    expect(outcome.jobs[0]?.matched).toEqual([7, 8]);
  });

  it('resumes a dropped watch after the last event it saw', async () => {
    const api = new FakeWharf();
    api.dropAfter = [3];
    const outcome = await runScenario(
      scenario(
        `jobs: [{ name: j, spec: { image: busybox }, expect: { events: [submitted, run_started, finished], state: SUCCEEDED } }]`,
      ),
      options(api),
    );
    expect(outcome.passed).toBe(true);
    expect(api.watchCalls).toEqual([
      { jobId: 't-j-r1', after: 0 },
      { jobId: 't-j-r1', after: 3 },
    ]);
    expect(outcome.jobs[0]?.seen.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('reports a failed submit', async () => {
    const api = new FakeWharf();
    api.submitJob = async () => {
      throw new ApiError('INVALID_ARGUMENT: invalid job: spec.image: required', 3);
    };
    const outcome = await runScenario(
      scenario(`jobs: [{ name: j, spec: { image: x }, expect: { state: SUCCEEDED } }]`),
      options(api),
    );
    expect(outcome.jobs[0]?.problems).toEqual([
      'SubmitJob failed: INVALID_ARGUMENT: invalid job: spec.image: required',
    ]);
  });
});

describe('runScenario: workflows', () => {
  const workflow = (state: WorkflowState, report: TaskState) =>
    Workflow.fromPartial({
      workflowId: 't-w-r1',
      state,
      tasks: [
        {
          name: 'prepare',
          state: TaskState.TASK_STATE_SUCCEEDED,
          jobId: 'job-prepare',
          outputJson: '{"count":3}',
        },
        { name: 'report', state: report, jobId: 'job-report' },
      ],
    });

  function fakeWith(state: WorkflowState, report: TaskState): FakeWharf {
    const api = new FakeWharf();
    api.workflows.set('t-w-r1', {
      workflow: workflow(state, report),
      events: [
        {
          event: {
            workflowId: 't-w-r1',
            sequence: 1,
            state: WorkflowState.WORKFLOW_STATE_RUNNING,
            message: '',
            task: undefined,
          },
          heartbeat: undefined,
        },
        {
          event: { workflowId: 't-w-r1', sequence: 2, state, message: '', task: undefined },
          heartbeat: undefined,
        },
      ],
    });
    api.emit('job-report', [
      {
        state: JobState.JOB_STATE_QUEUED,
        submitted: { spec: { command: ['echo', 'prepared {"count":3}'] } as never },
      },
      ...happy.slice(1),
    ]);
    return api;
  }

  const text = (tasks: string) => `
workflows:
  - name: w
    spec:
      name: wf
      tasks:
        - { name: prepare, template: { image: i } }
        - { name: report, dependsOn: [prepare], template: { image: i } }
    expect:
      state: SUCCEEDED
      tasks:
${tasks}
`;

  it('checks the final state, task states and outputs, and the events of a task’s job', async () => {
    const api = fakeWith(WorkflowState.WORKFLOW_STATE_SUCCEEDED, TaskState.TASK_STATE_SUCCEEDED);
    const outcome = await runScenario(
      scenario(
        text(`        prepare: { state: SUCCEEDED, output: { count: 3 } }
        report:
          state: SUCCEEDED
          events: [{ submitted: { spec: { command: [echo, 'prepared {"count":3}'] } } }, finished]`),
      ),
      options(api),
    );
    expect(outcome.workflows[0]?.problems).toEqual([]);
    expect(outcome.passed).toBe(true);
    expect(api.workflowSubmits[0]).toMatchObject({ idempotencyKey: 't-w-r1', dryRun: false });
    expect(api.workflowSubmits[0]?.text).toContain('namespace: default\nqueue: default');
    expect(outcome.workflows[0]?.tasks).toEqual([
      { name: 'prepare', state: 'SUCCEEDED', jobId: 'job-prepare' },
      { name: 'report', state: 'SUCCEEDED', jobId: 'job-report' },
    ]);
  });

  it('reports a wrong workflow state, task state and output', async () => {
    const api = fakeWith(WorkflowState.WORKFLOW_STATE_FAILED, TaskState.TASK_STATE_FAILED);
    const outcome = await runScenario(
      scenario(
        text(`        prepare: { output: { count: 4 } }
        report: { state: SUCCEEDED }`),
      ),
      options(api),
    );
    expect(outcome.passed).toBe(false);
    expect(outcome.workflows[0]?.problems).toEqual([
      'final state FAILED, expected SUCCEEDED',
      'task prepare: output.count: expected 4, got 3',
      'task report: state FAILED, expected SUCCEEDED',
    ]);
  });
});

describe('helpers', () => {
  it('makes idempotency keys that are DNS labels of at most 63 characters', () => {
    expect(idempotencyKey('job-succeeds', 'hello', 'a1b2c3')).toBe('job-succeeds-hello-a1b2c3');
    const long = idempotencyKey('a'.repeat(40), `b-${'c'.repeat(38)}`, 'a1b2c3');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(long.endsWith('-a1b2c3')).toBe(true);
  });

  it('sets namespace and queue on a workflow that names none, and keeps those it names', () => {
    expect(withWorkflowDefaults('name: w\ntasks: []\n', { namespace: 'default', queue: 'q' })).toBe(
      'name: w\ntasks: []\nnamespace: default\nqueue: q\n',
    );
    const named = '# comment\nname: w\nnamespace: ns\nqueue: batch\n';
    expect(withWorkflowDefaults(named, { namespace: 'default', queue: 'q' })).toBe(named);
  });
});
