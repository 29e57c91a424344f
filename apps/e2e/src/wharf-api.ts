import { readFileSync } from 'node:fs';
import {
  credentials,
  Metadata,
  status,
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  JobServiceClient,
  WorkflowServiceClient,
  type CancelJobResponse,
  type SubmitJobRequest,
  type SubmitJobResponse,
  type SubmitWorkflowRequest,
  type SubmitWorkflowResponse,
  type WatchJobResponse,
  type WatchWorkflowResponse,
  type Workflow,
} from '@wharf/contracts';
import type { Target } from './target';

/** What the runner needs of Wharf: the public gRPC API, nothing else. */
export interface WharfApi {
  submitJob(request: SubmitJobRequest): Promise<SubmitJobResponse>;
  cancelJob(jobId: string, reason: string): Promise<CancelJobResponse>;
  /** Events after `afterSequence`, then live, until `signal` aborts (the server never ends it). */
  watchJob(
    jobId: string,
    afterSequence: number,
    signal: AbortSignal,
  ): AsyncIterable<WatchJobResponse>;
  submitWorkflow(request: SubmitWorkflowRequest): Promise<SubmitWorkflowResponse>;
  getWorkflow(workflowId: string): Promise<Workflow>;
  cancelWorkflow(workflowId: string, reason: string): Promise<Workflow>;
  /** Events after `afterSequence`, live; ends when the workflow has ended or `signal` aborts. */
  watchWorkflow(
    workflowId: string,
    afterSequence: number,
    signal: AbortSignal,
  ): AsyncIterable<WatchWorkflowResponse>;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number';
}

/** A gRPC error as one line: `NOT_FOUND: no job 'x'`. */
export function describeError(error: unknown, server: string): ApiError {
  if (!isServiceError(error))
    return new ApiError((error as Error)?.message ?? String(error), undefined);
  const name = status[error.code] ?? `code ${error.code}`;
  const hint =
    error.code === status.UNAVAILABLE
      ? ` (is the scheduler at ${server} running? start it with \`npm run quickstart\`)`
      : error.code === status.UNAUTHENTICATED
        ? ' (check --token / WHARF_TOKEN)'
        : '';
  return new ApiError(`${name}: ${error.details || error.message}${hint}`, error.code);
}

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;
type Streaming<Req, Res> = (
  request: Req,
  metadata?: Metadata,
  options?: Partial<CallOptions>,
) => ClientReadableStream<Res>;

export interface GrpcApi extends WharfApi {
  /** Resolves once the channel is connected; thrown: ApiError after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  close(): void;
}

/** The gRPC adapter: the generated clients, the bearer token on every call, unary deadlines. */
export function createGrpcApi(target: Target, unaryTimeoutMs = 15_000): GrpcApi {
  const creds = target.tls
    ? credentials.createSsl(target.caFile ? readFileSync(target.caFile) : null)
    : credentials.createInsecure();
  const options = { 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_permit_without_calls': 1 };
  const jobs = new JobServiceClient(target.server, creds, options);
  const workflows = new WorkflowServiceClient(target.server, creds, options);
  const metadata = (): Metadata => {
    const md = new Metadata();
    if (target.token) md.set('authorization', `Bearer ${target.token}`);
    return md;
  };
  function unary<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method(
        request,
        metadata(),
        { deadline: new Date(Date.now() + unaryTimeoutMs) },
        (error, response) =>
          error ? reject(describeError(error, target.server)) : resolve(response),
      );
    });
  }
  async function* streaming<Req, Res>(
    method: Streaming<Req, Res>,
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
      throw describeError(error, target.server);
    } finally {
      signal.removeEventListener('abort', abort);
      call.cancel();
    }
  }
  return {
    submitJob: (request) => unary(jobs.submitJob.bind(jobs), request),
    cancelJob: (jobId, reason) => unary(jobs.cancelJob.bind(jobs), { jobId, reason }),
    watchJob: (jobId, afterSequence, signal) =>
      streaming(jobs.watchJob.bind(jobs), { jobId, afterSequence }, signal),
    submitWorkflow: (request) => unary(workflows.submitWorkflow.bind(workflows), request),
    getWorkflow: (workflowId) => unary(workflows.getWorkflow.bind(workflows), { workflowId }),
    cancelWorkflow: (workflowId, reason) =>
      unary(workflows.cancelWorkflow.bind(workflows), { workflowId, reason }),
    watchWorkflow: (workflowId, afterSequence, signal) =>
      streaming(workflows.watchWorkflow.bind(workflows), { workflowId, afterSequence }, signal),
    waitForReady: (timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        jobs.waitForReady(new Date(Date.now() + timeoutMs), (error) =>
          error
            ? reject(
                new ApiError(
                  `cannot reach the scheduler at ${target.server} within ${timeoutMs / 1000} s (${error.message}); is it running? \`npm run quickstart\` starts one`,
                  status.UNAVAILABLE,
                ),
              )
            : resolve(),
        );
      }),
    close: () => {
      jobs.close();
      workflows.close();
    },
  };
}
