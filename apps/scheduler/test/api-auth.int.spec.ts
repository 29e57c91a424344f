import * as grpc from '@grpc/grpc-js';
import {
  CancelJobRequest,
  ExplainJobRequest,
  GetJobRequest,
  GetLogsRequest,
  GetQueueRequest,
  JobServiceService,
  JobSpec,
  ListJobsRequest,
  SubmitJobRequest,
  WatchJobRequest,
  QueueServiceService,
  StreamServiceService,
  WorkflowServiceService,
  type SubmitJobResponse,
} from '@wharf/contracts';
import { uniqueName } from '@wharf/testing';
import { clients, startScheduler, tokens, unary, withToken, type RunningScheduler } from './scheduler-harness';

type Definition = Record<string, { path: string; responseStream: boolean; requestSerialize: (v: never) => Buffer; responseDeserialize: (b: Buffer) => unknown }>;

function rpc(definition: Definition, name: string): Definition[string] {
  const method = definition[name];
  if (!method) throw new Error(`no RPC ${name}`);
  return method;
}

/** Calls any RPC by its definition and resolves with the status code (0 for success). */
function callCode(address: string, method: Definition[string], request: unknown, token: string | undefined): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = withToken(token);
  const options = { deadline: Date.now() + 15_000 };
  return new Promise<number>((resolve) => {
    // No request: the empty message (every field at its default) as bytes.
    const serialize = (v: unknown): Buffer => (v === undefined ? Buffer.alloc(0) : (method.requestSerialize as (x: unknown) => Buffer)(v));
    if (method.responseStream) {
      const stream = client.makeServerStreamRequest(method.path, serialize, method.responseDeserialize, request, metadata, options);
      // A stream that delivers anything was allowed; cancel it then.
      stream.on('data', () => {
        resolve(0);
        stream.cancel();
      });
      stream.on('error', (e: grpc.ServiceError) => resolve(e.code === grpc.status.CANCELLED ? 0 : e.code));
      stream.on('end', () => resolve(0));
    } else {
      client.makeUnaryRequest(method.path, serialize, method.responseDeserialize, request, metadata, options, (e) => resolve(e ? e.code : 0));
    }
  }).finally(() => client.close());
}

describe('scheduler: the authn/authz matrix (real Kafka)', () => {
  const ns = uniqueName('it-auth');
  let scheduler: RunningScheduler;
  let jobId: string;

  beforeAll(async () => {
    scheduler = await startScheduler(ns, { watch: { heartbeatMs: 200 } });
    const spec = JobSpec.fromPartial({ name: 'owned', namespace: 'team-a', queue: 'batch', image: 'busybox' });
    const r = await unary<unknown, SubmitJobResponse>(clients(scheduler.address).jobs, 'submitJob', { spec, idempotencyKey: '' }, tokens.acme);
    jobId = r.job?.jobId as string;
  });
  afterAll(() => scheduler?.stop());

  const services: [string, Definition][] = [
    ['JobService', JobServiceService as unknown as Definition],
    ['QueueService', QueueServiceService as unknown as Definition],
    ['WorkflowService', WorkflowServiceService as unknown as Definition],
    ['StreamService', StreamServiceService as unknown as Definition],
  ];

  it('answers UNAUTHENTICATED (16) to every RPC without a token or with an unknown one', async () => {
    let count = 0;
    for (const [, definition] of services) {
      for (const method of Object.values(definition)) {
        expect([method.path, await callCode(scheduler.address, method, undefined, undefined)]).toEqual([method.path, grpc.status.UNAUTHENTICATED]);
        expect([method.path, await callCode(scheduler.address, method, undefined, 'not-a-valid-token-at-all')]).toEqual([method.path, grpc.status.UNAUTHENTICATED]);
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(20);
  });

  it("answers PERMISSION_DENIED (7) to another tenant's job, queue or namespace", async () => {
    const job = JobServiceService as unknown as Definition;
    const queue = QueueServiceService as unknown as Definition;
    const foreignSpec = JobSpec.fromPartial({ name: 'x', namespace: 'team-a', queue: 'batch', image: 'busybox' });
    const foreignNamespace = JobSpec.fromPartial({ name: 'x', namespace: 'team-a', queue: 'globex', image: 'busybox' });
    const cases: [Definition[string], unknown][] = [
      [rpc(job, 'submitJob'), SubmitJobRequest.fromPartial({ spec: foreignSpec })],
      [rpc(job, 'getJob'), GetJobRequest.fromPartial({ jobId })],
      [rpc(job, 'cancelJob'), CancelJobRequest.fromPartial({ jobId })],
      [rpc(job, 'watchJob'), WatchJobRequest.fromPartial({ jobId })],
      [rpc(job, 'explainJob'), ExplainJobRequest.fromPartial({ jobId })],
      [rpc(job, 'getLogs'), GetLogsRequest.fromPartial({ jobId })],
      [rpc(queue, 'getQueue'), GetQueueRequest.fromPartial({ name: 'batch' })],
    ];
    for (const [method, request] of cases) {
      expect([method.path, await callCode(scheduler.address, method, request, tokens.globex)]).toEqual([method.path, grpc.status.PERMISSION_DENIED]);
    }
    // A tenant's own queue, but a namespace the queue does not serve.
    expect(await callCode(scheduler.address, rpc(job, 'submitJob'), SubmitJobRequest.fromPartial({ spec: foreignNamespace }), tokens.globex)).toBe(grpc.status.PERMISSION_DENIED);
    // Listing shows only the caller's own jobs and queues.
    const { jobs, queues } = clients(scheduler.address);
    const listed = await unary<unknown, { jobs: { jobId: string }[] }>(jobs, 'listJobs', ListJobsRequest.fromPartial({}), tokens.globex);
    expect(listed.jobs).toEqual([]);
    const qs = await unary<unknown, { queues: { queue: { name: string } }[] }>(queues, 'listQueues', {}, tokens.globex);
    expect(qs.queues.map((q) => q.queue.name)).toEqual(['globex']);
    // The owner is allowed.
    expect(await callCode(scheduler.address, rpc(job, 'getJob'), GetJobRequest.fromPartial({ jobId }), tokens.acme)).toBe(0);
    expect(await callCode(scheduler.address, rpc(job, 'explainJob'), ExplainJobRequest.fromPartial({ jobId }), tokens.acme)).toBe(0);
  });

  it('serves every RPC of every service (none answers UNIMPLEMENTED), after authentication', async () => {
    for (const [, definition] of services) {
      for (const method of Object.values(definition)) {
        expect([method.path, await callCode(scheduler.address, method, undefined, tokens.acme)]).not.toEqual([method.path, grpc.status.UNIMPLEMENTED]);
      }
    }
  });
});
