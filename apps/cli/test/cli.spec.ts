import { status as Code } from '@grpc/grpc-js';
import {
  Job,
  JobEvent,
  JobState,
  RunState,
  Stream,
  StreamSpec,
  ListQueuesResponse,
  Workflow,
  WorkflowEvent,
  WorkflowState,
  TaskState,
  type SubmitJobRequest,
  type SubmitWorkflowRequest,
  type CreateStreamRequest,
  type WatchJobRequest,
} from '@wharf/contracts';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../src/cli';
import { FakeScheduler, status, testIo } from './fake-scheduler';

const at = new Date('2026-11-21T09:58:00Z');

function job(overrides: Partial<Job> = {}): Job {
  return Job.fromPartial({
    jobId: 'hello-0123456789abcdef',
    tenant: 'team-a',
    state: JobState.JOB_STATE_RUNNING,
    createdAt: at,
    spec: {
      name: 'hello',
      image: 'busybox:1.36',
      queue: 'default',
      items: ['a', 'b', 'c', 'd', 'e'],
      parallelism: 3,
    },
    runs: [
      {
        number: 1,
        state: RunState.RUN_STATE_RUNNING,
        jobName: 'w-hello-0123456789abcdef-r1-1a2b3c4d',
        indexes: { total: 5, succeeded: 2, failed: 1, active: 2 },
        startedAt: at,
      },
    ],
    ...overrides,
  });
}

function event(sequence: number, fields: Record<string, unknown>): { event: JobEvent } {
  const partial = { jobId: 'hello-0123456789abcdef', sequence, time: at, run: 1, ...fields };
  return { event: JobEvent.fromPartial(partial as Parameters<typeof JobEvent.fromPartial>[0]) };
}

async function* items<T>(...values: T[]): AsyncIterable<T> {
  for (const v of values) yield v;
}

describe('wharf CLI against a fake scheduler', () => {
  let server: FakeScheduler;
  beforeEach(async () => {
    server = await new FakeScheduler().start();
  });
  afterEach(async () => {
    await server.stop();
  });
  const run = (argv: string[], io = testIo()) =>
    runCli(['--server', server.address, ...argv], io).then((code) => ({ code, io }));

  it('submits an indexed job from flags and prints the job id', async () => {
    server.on('submitJob', () => ({
      job: job({ state: JobState.JOB_STATE_QUEUED, runs: [] }),
      created: true,
    }));
    const { code, io } = await run([
      'submit',
      '--name',
      'hello',
      '--image',
      'busybox:1.36',
      '--parallelism',
      '3',
      '--item',
      'a',
      '--item',
      'b',
      '--env',
      'MODE=fast',
      '--secret-ref',
      'TOKEN=api/token',
      '--annotation',
      'wharf.dev/sim-exit-code=0',
      '--input',
      'size=3',
      '--cpu',
      '250m',
      '--id',
      'hello-1',
      '--',
      'sh',
      '-c',
      'echo $WHARF_ITEM',
    ]);
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(io.out()).toBe('job hello-0123456789abcdef submitted (QUEUED)\n');
    const request = server.calls[0]?.request as SubmitJobRequest;
    expect(request.idempotencyKey).toBe('hello-1');
    expect(request.spec).toMatchObject({
      name: 'hello',
      image: 'busybox:1.36',
      parallelism: 3,
      items: ['a', 'b'],
      command: ['sh', '-c', 'echo $WHARF_ITEM'],
      env: { MODE: 'fast' },
      annotations: { 'wharf.dev/sim-exit-code': '0' },
      inputs: { size: 3 },
      resources: { cpu: '250m' },
      secrets: [{ env: 'TOKEN', secretRef: { name: 'api', key: 'token' } }],
    });
  });

  it('submits from a YAML file (snake_case accepted), flags overriding it, and prints JSON', async () => {
    server.on('submitJob', (req: SubmitJobRequest) => ({
      job: job({ spec: req.spec }),
      created: false,
    }));
    const file = [
      'name: batch',
      'image: busybox',
      'active_deadline_seconds: 600',
      'items: [x, y, z]',
      'retry: { backoff_limit_per_index: 2, exit_code_rules: [{ action: ACTION_FAIL_JOB, exit_codes: [42] }] }',
      'env: { SNAKE_CASE_KEY: kept }',
    ].join('\n');
    const io = testIo({ files: { 'job.yaml': file } });
    const { code } = await run(
      ['-o', 'json', 'submit', '-f', 'job.yaml', '--parallelism', '2'],
      io,
    );
    expect(code).toBe(0);
    const request = server.calls[0]?.request as SubmitJobRequest;
    expect(request.spec).toMatchObject({
      name: 'batch',
      activeDeadlineSeconds: 600,
      parallelism: 2,
      items: ['x', 'y', 'z'],
      env: { SNAKE_CASE_KEY: 'kept' },
      retry: { backoffLimitPerIndex: 2, exitCodeRules: [{ action: 1, exitCodes: [42] }] },
    });
    const printed = JSON.parse(io.out()) as {
      job: { jobId: string; state: string; createdAt: string };
    };
    expect(printed.job.jobId).toBe('hello-0123456789abcdef');
    expect(printed.job.state).toBe('JOB_STATE_RUNNING');
    expect(printed.job.createdAt).toBe('2026-11-21T09:58:00Z');
  });

  it('rejects bad input before calling the server, naming the field', async () => {
    const io = testIo({ files: { 'bad.yaml': 'name: x\nimage: y\nparalelism: 3\n' } });
    const { code } = await run(['submit', '-f', 'bad.yaml'], io);
    expect(code).toBe(2);
    expect(io.err()).toContain('bad.yaml: wharf.v1.JobSpec from JSON: key "paralelism" is unknown');
    const second = await run(['submit', '--name', 'x', '--image', 'y', '--id', 'Not_A_Label']);
    expect(second.code).toBe(2);
    expect(second.io.err()).toContain("--id 'Not_A_Label' must be a DNS label");
    expect(server.calls).toHaveLength(0);
  });

  it.each([
    [
      Code.INVALID_ARGUMENT,
      'invalid job spec: spec.items[3]: longer than 64 KiB; spec.parallelism: must be positive',
      4,
      /rejected: invalid job spec:\n {2}- spec.items\[3\]: longer than 64 KiB\n {2}- spec.parallelism: must be positive/,
    ],
    [Code.NOT_FOUND, 'job nope not found', 3, /not found: job nope not found/],
    [
      Code.ALREADY_EXISTS,
      'job hello-1 exists with another spec',
      4,
      /already exists with a different spec.*--id/,
    ],
    [
      Code.FAILED_PRECONDITION,
      'secret api is missing',
      4,
      /cannot do that now: secret api is missing/,
    ],
    [Code.UNAUTHENTICATED, 'missing bearer token', 5, /not authenticated.*--token, WHARF_TOKEN/],
    [
      Code.PERMISSION_DENIED,
      'tenant team-a may not use queue gpu',
      5,
      /permission denied: tenant team-a may not use queue gpu/,
    ],
    [Code.RESOURCE_EXHAUSTED, 'too many jobs', 4, /limit reached: too many jobs/],
    [
      Code.INTERNAL,
      'internal error',
      1,
      /the server failed: internal error \(see the scheduler's logs\)/,
    ],
    [Code.UNIMPLEMENTED, 'nope', 1, /does not implement this call/],
    [
      Code.UNAVAILABLE,
      'this scheduler is a standby; retry against the leader',
      69,
      /scheduler at .* is unavailable: this scheduler is a standby.*safe to retry/,
    ],
    [Code.DEADLINE_EXCEEDED, 'deadline', 69, /no answer from .* in time \(raise --timeout/],
  ])('explains gRPC status %s clearly', async (code, details, exit, pattern) => {
    server.on('getJob', () => {
      throw status(code, details);
    });
    const { code: exitCode, io } = await run(['get', 'nope']);
    expect(exitCode).toBe(exit);
    expect(io.err()).toMatch(pattern);
  });

  it('says where it could not connect when the scheduler is down', async () => {
    const io = testIo();
    const code = await runCli(['--server', '127.0.0.1:1', '--timeout', '3000', 'get', 'x'], io);
    expect(code).toBe(69);
    expect(io.err()).toMatch(
      /cannot reach the Wharf scheduler at 127\.0\.0\.1:1: .*check --server or WHARF_SERVER/,
    );
  });

  it('takes server and token from ~/.config/wharf/config.yaml, the environment, then flags', async () => {
    server.on('getJob', () => job());
    const config = `server: ${server.address}\ntoken: from-file\noutput: yaml\n`;
    const fromFile = testIo({ files: { '/home/tester/.config/wharf/config.yaml': config } });
    expect(await runCli(['get', 'x'], fromFile)).toBe(0);
    expect(server.calls.at(-1)?.authorization).toBe('Bearer from-file');
    expect((parseYaml(fromFile.out()) as { jobId: string }).jobId).toBe('hello-0123456789abcdef');

    const fromEnv = testIo({
      env: { WHARF_TOKEN: 'from-env' },
      files: { '/home/tester/.config/wharf/config.yaml': config },
    });
    expect(await runCli(['get', 'x'], fromEnv)).toBe(0);
    expect(server.calls.at(-1)?.authorization).toBe('Bearer from-env');

    const fromFlag = testIo({
      env: { WHARF_TOKEN: 'from-env' },
      files: { '/home/tester/.config/wharf/config.yaml': config },
    });
    expect(await runCli(['--token', 'from-flag', 'get', 'x'], fromFlag)).toBe(0);
    expect(server.calls.at(-1)?.authorization).toBe('Bearer from-flag');

    const badOutput = testIo({ env: { WHARF_OUTPUT: 'xml' } });
    expect(await runCli(['get', 'x'], badOutput)).toBe(2);
    expect(badOutput.err()).toMatch(/invalid settings[\s\S]*output/);
  });

  it('prints get, list, explain and cancel as tables', async () => {
    server
      .on('getJob', () => job())
      .on('listJobs', () => ({
        jobs: [job(), job({ jobId: 'other', state: JobState.JOB_STATE_QUEUED, runs: [] })],
        nextPageToken: '',
      }))
      .on('explainJob', () => ({
        state: JobState.JOB_STATE_QUEUED,
        queuePosition: 2,
        queueLength: 7,
        blockers: [{ kind: 'quota', message: "queue 'batch' uses 7.5 of 8 CPU; this job needs 1" }],
        summary: 'waiting for quota',
      }))
      .on('cancelJob', () => ({ job: job({ cancelRequested: true }) }));
    const get = await run(['get', 'hello-0123456789abcdef']);
    expect(get.io.out()).toContain('State:      RUNNING');
    expect(get.io.out()).toContain('Progress:   2/5 (1 failed)');
    expect(get.io.out()).toMatch(
      /1 +RUNNING +w-hello-0123456789abcdef-r1-1a2b3c4d +2✓ 1✗ 2… \/5 +2m00s/,
    );
    const list = await run(['list', '--state', 'running', '--state', 'queued']);
    expect(list.io.out().split('\n')[0]).toMatch(/^JOB ID +STATE +QUEUE +PROGRESS +RUN +AGE$/);
    expect(list.io.out()).toMatch(/other +QUEUED +default +0\/5 +- +2m00s/);
    expect(
      (server.calls.find((c) => c.method === 'listJobs')?.request as { states: number[] }).states,
    ).toEqual([3, 1]);
    const explain = await run(['explain', 'hello-0123456789abcdef']);
    expect(explain.io.out()).toContain('Position 2 of 7 waiting in its queue.');
    expect(explain.io.out()).toContain(
      "  - [quota] queue 'batch' uses 7.5 of 8 CPU; this job needs 1",
    );
    const cancel = await run(['cancel', 'hello-0123456789abcdef']);
    expect(cancel.io.out()).toContain('cancel requested (now RUNNING');
  });

  it('watches a job to the end, printing each event, and exits by its outcome', async () => {
    server.on('watchJob', () =>
      items<object>(
        event(1, {
          state: JobState.JOB_STATE_QUEUED,
          submitted: { spec: { name: 'hello', items: ['a', 'b'] } },
        }),
        { heartbeat: { time: at, resumeToken: '' } },
        event(2, { state: JobState.JOB_STATE_ADMITTED, admitted: { jobName: 'w-hello' } }),
        event(3, {
          state: JobState.JOB_STATE_RUNNING,
          indexFinished: {
            result: { index: 0, succeeded: true },
            counts: { total: 2, succeeded: 1, failed: 0, active: 1 },
          },
        }),
        event(4, {
          state: JobState.JOB_STATE_RUNNING,
          indexFinished: {
            result: { index: 1, succeeded: false, exitCode: 3 },
            counts: { total: 2, succeeded: 1, failed: 1, active: 0 },
          },
        }),
        event(5, {
          state: JobState.JOB_STATE_FAILED,
          finished: { state: JobState.JOB_STATE_FAILED, reason: 'FailedIndexes', message: '' },
        }),
      ),
    );
    const { code, io } = await run(['watch', 'hello-0123456789abcdef']);
    expect(code).toBe(8);
    expect(io.out()).toContain('#3 index 0 succeeded — 1/2 done, 0 failed');
    expect(io.out()).toContain('#4 index 1 failed (exit 3) — 1/2 done, 1 failed');
    expect(io.err()).toContain('job hello-0123456789abcdef FAILED (FailedIndexes)');
  });

  it('resumes a dropped watch after the last sequence and ignores replayed events', async () => {
    let calls = 0;
    server.on('watchJob', (req: WatchJobRequest) => {
      calls++;
      if (calls === 1)
        return items(
          event(1, { state: JobState.JOB_STATE_QUEUED }),
          event(2, { state: JobState.JOB_STATE_RUNNING, runStarted: {} }),
        );
      expect(req.afterSequence).toBe(2);
      return items(
        event(2, { state: JobState.JOB_STATE_RUNNING, runStarted: {} }),
        event(3, {
          state: JobState.JOB_STATE_SUCCEEDED,
          finished: { state: JobState.JOB_STATE_SUCCEEDED, reason: '', message: '' },
        }),
        event(4, {
          state: JobState.JOB_STATE_SUCCEEDED,
          logsArchived: {
            manifest: 's3://wharf-logs/team-a/hello/r1/manifest.json',
            objects: 5,
            bytes: 120,
            missing: 0,
          },
        }),
      );
    });
    const { code, io } = await run(['watch', '--wait-archived', 'hello-0123456789abcdef']);
    expect(code).toBe(0);
    expect(calls).toBe(2);
    expect(io.out().match(/run 1 started/g)).toHaveLength(1);
    expect(io.out()).toContain('(reconnecting, attempt 1: the server closed the stream)');
    expect(io.err()).toContain('logs archived: s3://wharf-logs/team-a/hello/r1/manifest.json');
  });

  it('prints logs chunk by chunk and says where they come from', async () => {
    server.on('getLogs', () =>
      items(
        {
          pod: 'w-hello-r1-0',
          container: 'main',
          index: 2,
          data: Buffer.from('line 1\n'),
          source: 'archive',
        },
        {
          pod: 'w-hello-r1-0',
          container: 'main',
          index: 2,
          data: Buffer.from('line 2\n'),
          source: 'archive',
        },
      ),
    );
    const { code, io } = await run(['logs', 'hello-0123456789abcdef', '--index', '2', '-f']);
    expect(code).toBe(0);
    expect(io.out()).toBe('line 1\nline 2\n');
    expect(io.err()).toContain('index 2 (from the archive)');
    expect(server.calls[0]?.request).toMatchObject({
      jobId: 'hello-0123456789abcdef',
      index: 2,
      follow: true,
    });
  });

  it('submits a workflow as text with --param and watches its task tree', async () => {
    const spec = {
      name: 'etl',
      tasks: [
        { name: 'extract', dependsOn: [], withItems: [], template: { image: 'busybox' } },
        {
          name: 'load',
          dependsOn: ['extract'],
          withItems: ['a', 'b'],
          template: { image: 'busybox' },
        },
      ],
    };
    const base = Workflow.fromPartial({
      workflowId: 'etl-1',
      state: WorkflowState.WORKFLOW_STATE_RUNNING,
      spec,
      sequence: 1,
      createdAt: at,
    });
    server
      .on('submitWorkflow', () => ({ workflow: base, created: true }))
      .on('getWorkflow', () => base)
      .on('watchWorkflow', () =>
        items(
          {
            event: WorkflowEvent.fromPartial({
              workflowId: 'etl-1',
              sequence: 2,
              time: at,
              state: WorkflowState.WORKFLOW_STATE_RUNNING,
              task: {
                name: 'extract',
                state: TaskState.TASK_STATE_SUCCEEDED,
                jobId: 'etl-1-extract',
              },
            }),
          },
          {
            event: WorkflowEvent.fromPartial({
              workflowId: 'etl-1',
              sequence: 3,
              time: at,
              state: WorkflowState.WORKFLOW_STATE_SUCCEEDED,
              task: { name: 'load', state: TaskState.TASK_STATE_SUCCEEDED, jobId: 'etl-1-load' },
            }),
          },
        ),
      );
    const io = testIo({
      files: { 'wf.yaml': 'name: etl\nparameters:\n  day: monday\ntasks: []\n' },
    });
    const { code } = await run(
      ['workflow', 'submit', '-f', 'wf.yaml', '--param', 'day=tuesday', '--watch'],
      io,
    );
    expect(code).toBe(0);
    expect((server.calls[0]?.request as SubmitWorkflowRequest).text).toContain('day: tuesday');
    expect(io.out()).toContain('workflow etl-1 submitted');
    expect(io.out()).toContain('#2 workflow RUNNING task extract SUCCEEDED (job etl-1-extract)');
    expect(io.out()).toMatch(
      /└─ ✓ extract +SUCCEEDED +job etl-1-extract\n {3}└─ ✓ load +×2 +SUCCEEDED/,
    );
  });

  it('creates streams from flags and lists them', async () => {
    server
      .on('createStream', (req: CreateStreamRequest) => Stream.fromPartial({ spec: req.spec }))
      .on('listStreams', () => ({
        streams: [
          Stream.fromPartial({
            spec: StreamSpec.fromPartial({
              streamId: 'ticks',
              source: { generator: { rate: 10 } },
              sink: { topic: 'ticks.out' },
              desiredState: 1,
            }),
            status: {
              streamId: 'ticks',
              state: 'running',
              recordsIn: 120,
              recordsOut: 118,
              dlq: 2,
            },
          }),
        ],
      }));
    const io = testIo({ env: { FEED_TOKEN: 's3cr3t' } });
    const created = await run(
      [
        'stream',
        'create',
        '--id',
        'feed',
        '--http',
        'http://127.0.0.1:9/feed',
        '--bearer-token-env',
        'FEED_TOKEN',
        '--parse-json',
        '--filter',
        'level = "error"',
        '--sink-topic',
        'feed.errors',
      ],
      io,
    );
    expect(created.code).toBe(0);
    expect(io.out()).toBe('stream feed created\n');
    expect(io.out() + io.err()).not.toContain('s3cr3t');
    expect((server.calls[0]?.request as CreateStreamRequest).spec).toMatchObject({
      streamId: 'feed',
      source: { http: { url: 'http://127.0.0.1:9/feed', format: 'ndjson', bearerToken: 's3cr3t' } },
      processors: [{ parseJson: true }, { filter: 'level = "error"' }],
      sink: { topic: 'feed.errors' },
    });
    const list = await run(['stream', 'list']);
    expect(list.io.out()).toMatch(
      /ticks +RUNNING +running +generator 10\/s +ticks.out +120 +118 +0 +2 +0/,
    );
  });

  it('lists queues with their usage', async () => {
    server.on('listQueues', () =>
      ListQueuesResponse.fromPartial({
        queues: [
          {
            queue: {
              name: 'batch',
              weight: 2,
              maxRunning: 10,
              quota: { cpu: 8, memory: 2 ** 34, gpu: 0 },
            },
            usage: {
              queued: 3,
              running: 4,
              used: { cpu: 7.5, memory: 2 ** 33, gpu: 0 },
              weightedShare: 0.47,
            },
          },
        ],
      }),
    );
    const { io } = await run(['queue', 'list']);
    expect(io.err()).toBe('');
    expect(io.out()).toMatch(/batch +2 +3 +4\/10 +7.5\/8 +8.0Gi\/16.0Gi +0\/∞ +0.47/);
  });
});
