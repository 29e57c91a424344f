import {
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
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
  type Job,
  type ListJobsRequest,
  type ListJobsResponse,
  type ListQueuesResponse,
  type ListStreamsResponse,
  type ListWorkflowsRequest,
  type ListWorkflowsResponse,
  type LogChunk,
  type GetLogsRequest,
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
import type { CliConfig } from './cli-config';
import { describeGrpcError, isServiceError } from './cli-errors';

/** What the commands need from the scheduler: the port the gRPC adapter below implements. */
export interface WharfApi {
  submitJob(request: SubmitJobRequest): Promise<SubmitJobResponse>;
  getJob(jobId: string): Promise<Job>;
  listJobs(request: Partial<ListJobsRequest>): Promise<ListJobsResponse>;
  cancelJob(jobId: string, reason: string): Promise<CancelJobResponse>;
  explainJob(jobId: string): Promise<ExplainJobResponse>;
  /** Events after `afterSequence`, then live; ends when the server ends the stream. */
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
  close(): void;
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

export interface GrpcApiOptions {
  readonly config: CliConfig;
  /** Reads the CA file (injected in tests). */
  readonly readFile: (path: string) => Buffer;
}

function channelCredentials(options: GrpcApiOptions): ChannelCredentials {
  const { config } = options;
  if (!config.tls) return grpcCredentials.createInsecure();
  return grpcCredentials.createSsl(config.caFile ? options.readFile(config.caFile) : null);
}

/**
 * The gRPC adapter: the generated ts-proto clients, a bearer token in every call's metadata,
 * a deadline on unary calls, and gRPC errors turned into CliErrors with a clear message.
 */
export function createGrpcApi(options: GrpcApiOptions): WharfApi {
  const { config } = options;
  const creds = channelCredentials(options);
  const clientOptions = {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_permit_without_calls': 1,
  };
  const jobs = new JobServiceClient(config.server, creds, clientOptions);
  const workflows = new WorkflowServiceClient(config.server, creds, clientOptions);
  const streams = new StreamServiceClient(config.server, creds, clientOptions);
  const queues = new QueueServiceClient(config.server, creds, clientOptions);
  const clients: Client[] = [jobs, workflows, streams, queues];

  const metadata = (): Metadata => {
    const md = new Metadata();
    if (config.token) md.set('authorization', `Bearer ${config.token}`);
    return md;
  };
  const fail = (error: unknown): never => {
    throw isServiceError(error) ? describeGrpcError(error, config.server) : error;
  };
  function unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method(
        request,
        metadata(),
        { deadline: new Date(Date.now() + config.timeoutMs) },
        (error, response) => {
          if (error) reject(error);
          else resolve(response);
        },
      );
    }).catch(fail);
  }
  async function* streaming<Req, Res>(
    method: StreamMethod<Req, Res>,
    request: Req,
    signal: AbortSignal,
  ): AsyncIterable<Res> {
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
    close: () => clients.forEach((c) => c.close()),
  };
}
