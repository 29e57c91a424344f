import {
  credentials,
  Metadata,
  type CallOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  JobServiceClient,
  QueueServiceClient,
  StreamServiceClient,
  WorkflowServiceClient,
  type CancelJobResponse,
  type ExplainJobResponse,
  type GetLogsRequest,
  type Job,
  type ListJobsRequest,
  type ListJobsResponse,
  type ListQueuesResponse,
  type ListStreamsResponse,
  type ListWorkflowsRequest,
  type ListWorkflowsResponse,
  type LogChunk,
  type Stream,
  type StreamSpec,
  type StreamStatus,
  type SubmitJobRequest,
  type SubmitJobResponse,
  type SubmitWorkflowRequest,
  type SubmitWorkflowResponse,
  type WatchJobResponse,
  type WatchWorkflowResponse,
  type Workflow,
} from '@wharf/contracts';

/** Wharf's public API, as the scheduler serves it over gRPC. */
export interface WharfApi {
  submitJob(request: SubmitJobRequest): Promise<SubmitJobResponse>;
  getJob(jobId: string): Promise<Job>;
  listJobs(request: Partial<ListJobsRequest>): Promise<ListJobsResponse>;
  cancelJob(jobId: string, reason: string): Promise<CancelJobResponse>;
  explainJob(jobId: string): Promise<ExplainJobResponse>;
  /** Events after `afterSequence`, then live, until the server ends it or `signal` aborts. */
  watchJob(
    jobId: string,
    afterSequence: number,
    signal: AbortSignal,
  ): AsyncIterable<WatchJobResponse>;
  getLogs(request: GetLogsRequest, signal: AbortSignal): AsyncIterable<LogChunk>;
  submitWorkflow(request: SubmitWorkflowRequest): Promise<SubmitWorkflowResponse>;
  getWorkflow(workflowId: string): Promise<Workflow>;
  listWorkflows(request: Partial<ListWorkflowsRequest>): Promise<ListWorkflowsResponse>;
  cancelWorkflow(workflowId: string, reason: string): Promise<Workflow>;
  /** Events after `afterSequence`, live; ends when the workflow has ended or `signal` aborts. */
  watchWorkflow(
    workflowId: string,
    afterSequence: number,
    signal: AbortSignal,
  ): AsyncIterable<WatchWorkflowResponse>;
  createStream(spec: StreamSpec): Promise<Stream>;
  listStreams(): Promise<ListStreamsResponse>;
  getStream(streamId: string): Promise<Stream>;
  pauseStream(streamId: string): Promise<Stream>;
  resumeStream(streamId: string): Promise<Stream>;
  deleteStream(streamId: string): Promise<Stream>;
  getStreamStats(streamId: string): Promise<StreamStatus>;
  listQueues(): Promise<ListQueuesResponse>;
  /** Resolves once the channel is connected; rejects with grpc-js's error after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  close(): void;
}

export interface GrpcApiOptions {
  /** host:port of the scheduler. */
  readonly server: string;
  /** Sent as `authorization: Bearer <token>` on every call; never logged. */
  readonly token?: string;
  readonly tls?: boolean;
  /** PEM of the CA to trust with TLS; the system's roots when absent. */
  readonly ca?: Buffer;
  /** Deadline of unary calls. */
  readonly unaryTimeoutMs: number;
  /** Turns a failed call's gRPC error into what callers see (a clear one-line message). */
  readonly describeError: (error: ServiceError) => Error;
}

export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    'details' in error &&
    'metadata' in error
  );
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;
type StreamMethod<Req, Res> = (
  request: Req,
  metadata?: Metadata,
  options?: Partial<CallOptions>,
) => ClientReadableStream<Res>;

/**
 * The gRPC adapter: the generated ts-proto clients on one channel configuration, the bearer
 * token in every call's metadata, a deadline on unary calls, server streams as async
 * iterables that a signal ends, and gRPC errors mapped by `describeError`.
 */
export function createGrpcApi(options: GrpcApiOptions): WharfApi {
  const creds = options.tls
    ? credentials.createSsl(options.ca ?? null)
    : credentials.createInsecure();
  const channelOptions = {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_permit_without_calls': 1,
  };
  const jobs = new JobServiceClient(options.server, creds, channelOptions);
  const workflows = new WorkflowServiceClient(options.server, creds, channelOptions);
  const streams = new StreamServiceClient(options.server, creds, channelOptions);
  const queues = new QueueServiceClient(options.server, creds, channelOptions);
  const clients: Client[] = [jobs, workflows, streams, queues];

  const metadata = (): Metadata => {
    const md = new Metadata();
    if (options.token) md.set('authorization', `Bearer ${options.token}`);
    return md;
  };
  const fail = (error: unknown): never => {
    throw isServiceError(error) ? options.describeError(error) : error;
  };
  function unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method(
        request,
        metadata(),
        { deadline: new Date(Date.now() + options.unaryTimeoutMs) },
        (error, response) => (error ? reject(error) : resolve(response)),
      );
    }).catch(fail);
  }
  async function* streaming<Req, Res>(
    method: StreamMethod<Req, Res>,
    request: Req,
    signal: AbortSignal,
  ): AsyncIterable<Res> {
    if (signal.aborted) return;
    const call = method(request, metadata(), {});
    const abort = () => call.cancel();
    signal.addEventListener('abort', abort, { once: true });
    try {
      for await (const message of call) yield message as Res;
    } catch (error) {
      if (signal.aborted) return;
      fail(error);
    } finally {
      signal.removeEventListener('abort', abort);
      call.cancel();
    }
  }

  return {
    submitJob: (request) => unary(jobs.submitJob.bind(jobs), request),
    getJob: (jobId) => unary(jobs.getJob.bind(jobs), { jobId }),
    listJobs: (request) =>
      unary(jobs.listJobs.bind(jobs), {
        queue: '',
        states: [],
        namespace: '',
        labels: {},
        pageSize: 0,
        pageToken: '',
        ...request,
      }),
    cancelJob: (jobId, reason) => unary(jobs.cancelJob.bind(jobs), { jobId, reason }),
    explainJob: (jobId) => unary(jobs.explainJob.bind(jobs), { jobId }),
    watchJob: (jobId, afterSequence, signal) =>
      streaming(jobs.watchJob.bind(jobs), { jobId, afterSequence }, signal),
    getLogs: (request, signal) => streaming(jobs.getLogs.bind(jobs), request, signal),
    submitWorkflow: (request) => unary(workflows.submitWorkflow.bind(workflows), request),
    getWorkflow: (workflowId) => unary(workflows.getWorkflow.bind(workflows), { workflowId }),
    listWorkflows: (request) =>
      unary(workflows.listWorkflows.bind(workflows), {
        states: [],
        pageSize: 0,
        pageToken: '',
        ...request,
      }),
    cancelWorkflow: (workflowId, reason) =>
      unary(workflows.cancelWorkflow.bind(workflows), { workflowId, reason }),
    watchWorkflow: (workflowId, afterSequence, signal) =>
      streaming(workflows.watchWorkflow.bind(workflows), { workflowId, afterSequence }, signal),
    createStream: (spec) => unary(streams.createStream.bind(streams), { spec }),
    listStreams: () => unary(streams.listStreams.bind(streams), {}),
    getStream: (streamId) => unary(streams.getStream.bind(streams), { streamId }),
    pauseStream: (streamId) => unary(streams.pauseStream.bind(streams), { streamId }),
    resumeStream: (streamId) => unary(streams.resumeStream.bind(streams), { streamId }),
    deleteStream: (streamId) => unary(streams.deleteStream.bind(streams), { streamId }),
    getStreamStats: (streamId) => unary(streams.getStreamStats.bind(streams), { streamId }),
    listQueues: () => unary(queues.listQueues.bind(queues), {}),
    waitForReady: (timeoutMs) =>
      new Promise<void>((resolve, reject) =>
        jobs.waitForReady(new Date(Date.now() + timeoutMs), (error) =>
          error ? reject(error) : resolve(),
        ),
      ),
    close: () => clients.forEach((client) => client.close()),
  };
}
