import { status } from '@grpc/grpc-js';
import {
  Command,
  contentTypeOf,
  decodeMessage,
  DecodeError,
  Reply,
  Topics,
  type ContentType,
  type Stream,
} from '@wharf/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  isRetriable,
  isWharfError,
  toGrpcStatus,
  type Authenticator,
  type ConsumedRecord,
  type Logger,
  type RecordSender,
} from '@wharf/platform';
import type { JobEngine } from '../engine/job-engine';
import type { JobStore } from '../state/job-store';
import { authorizeJob, authorizeSubmit } from './access-policy';
import { toJobView } from './job-view';
import type { StreamRegistry } from './stream-registry';
import { authorizeWorkflow, prepareWorkflowSubmit, toWorkflowView, type WorkflowPreflight } from './workflow-service';

export interface CommandHandlerOptions {
  readonly engine: JobEngine;
  readonly store: JobStore;
  readonly preflight?: WorkflowPreflight;
  /** Serves the stream commands; without one they are rejected UNIMPLEMENTED. */
  readonly streams?: StreamRegistry;
  readonly authenticate: Authenticator;
  readonly replies: RecordSender;
  readonly logger: Logger;
  /** @default Topics.replies */
  readonly repliesTopic?: string;
}

const rejected = (commandId: string, code: number, message: string): Reply => ({
  commandId,
  accepted: false,
  code,
  message,
  violations: [],
  job: undefined,
  workflow: undefined,
  stream: undefined,
});

/** The command id of a record that does not decode: from its JSON, else the record key. */
function salvageCommandId(record: ConsumedRecord<Buffer>, contentType: ContentType): string {
  if (contentType === 'application/json' && record.value) {
    try {
      const parsed: unknown = JSON.parse(record.value.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const o = parsed as Record<string, unknown>;
        const id = o['commandId'] ?? o['command_id'];
        if (typeof id === 'string' && id !== '') return id;
      }
    } catch {
      // fall through to the key
    }
  }
  return record.key?.toString('utf8') ?? '';
}

/** create_stream, update_stream, pause_stream, resume_stream, delete_stream: as StreamService. */
async function streamCommand(streams: StreamRegistry | undefined, tenant: string, commandId: string, command: Command): Promise<Reply> {
  if (!streams) return rejected(commandId, status.UNIMPLEMENTED, 'stream commands are not served by this scheduler');
  const ok = (message: string, stream: Stream): Reply => ({ ...rejected(commandId, status.OK, message), accepted: true, stream });
  if (command.createStream) {
    const outcome = await streams.create(tenant, command.createStream.spec);
    return ok(outcome.created ? 'created' : 'already exists with the same spec', outcome.stream);
  }
  if (command.updateStream) return ok('updated', await streams.update(tenant, command.updateStream.spec));
  if (command.pauseStream) return ok('paused', await streams.setDesiredState(tenant, command.pauseStream.streamId, true));
  if (command.resumeStream) return ok('resumed', await streams.setDesiredState(tenant, command.resumeStream.streamId, false));
  const streamId = command.deleteStream?.streamId ?? '';
  return ok('deleted', await streams.delete(tenant, streamId));
}

/**
 * wharf.commands → wharf.replies: the same operations as the gRPC API, for clients that talk
 * Kafka. Every record gets a reply keyed by its command id (accepted, or rejected with the gRPC
 * code and reason), in the command's own content type. A record without any readable command
 * id cannot be answered: it is thrown as poison and the pipeline parks it in the DLQ. Retriable
 * failures (Kafka, leadership, streams still loading) are thrown so the pipeline retries;
 * re-sending a command is safe because submits and stream creates are idempotent, and cancels,
 * pauses, resumes and same-spec updates absorb (a repeated delete answers NOT_FOUND).
 */
export function commandHandler(options: CommandHandlerOptions): (record: ConsumedRecord<Buffer>) => Promise<void> {
  const topic = options.repliesTopic ?? Topics.replies;
  const send = (reply: Reply, contentType: ContentType) => options.replies.sendMessage(topic, reply.commandId, Reply, reply, contentType);

  return async (record) => {
    const value = record.value;
    if (value === null) {
      const key = record.key?.toString('utf8') ?? '';
      if (key === '') throw new InvalidArgumentError('a tombstone without a key on wharf.commands');
      await send(rejected(key, status.INVALID_ARGUMENT, 'empty command record'), 'application/json');
      return;
    }
    const contentType = contentTypeOf(record.headers, value);
    let command: Command;
    try {
      command = decodeMessage(Command, 'Command', value, contentType);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      const commandId = salvageCommandId(record, contentType);
      if (commandId === '') throw error;
      await send(rejected(commandId, status.INVALID_ARGUMENT, `cannot decode the command: ${error.message}`), contentType);
      return;
    }
    const commandId = command.commandId || record.key?.toString('utf8') || '';
    if (commandId === '') throw new InvalidArgumentError('a command without command_id and without a record key');

    let reply: Reply;
    try {
      const { tenant } = options.authenticate(command.token || undefined);
      if (command.submitJob) {
        const request = command.submitJob;
        authorizeSubmit(tenant, request.spec?.queue ?? '', request.spec?.namespace ?? '', options.engine.queues);
        const outcome = await options.engine.submit(tenant, request);
        reply = { ...rejected(commandId, status.OK, outcome.created ? 'created' : 'already exists with the same spec'), accepted: true, job: toJobView(outcome.record) };
      } else if (command.cancelJob) {
        const { jobId, reason } = command.cancelJob;
        authorizeJob(tenant, options.store.get(jobId), jobId);
        const job = await options.engine.cancel(jobId, reason);
        reply = { ...rejected(commandId, status.OK, 'cancel accepted'), accepted: true, job: job ? toJobView(job) : undefined };
      } else if (command.submitWorkflow) {
        const request = command.submitWorkflow;
        const { workflowId, spec, specHash } = await prepareWorkflowSubmit(options, tenant, request);
        if (request.dryRun) {
          reply = { ...rejected(commandId, status.OK, 'dry run: valid and preflight passed; nothing stored'), accepted: true };
        } else {
          const outcome = await options.engine.submitWorkflow(tenant, workflowId, spec, specHash);
          reply = {
            ...rejected(commandId, status.OK, outcome.created ? 'created' : 'already exists with the same spec'),
            accepted: true,
            workflow: toWorkflowView(outcome.workflow),
          };
        }
      } else if (command.cancelWorkflow) {
        const { workflowId, reason } = command.cancelWorkflow;
        authorizeWorkflow(tenant, options.engine.workflows.get(workflowId), workflowId);
        const workflow = await options.engine.cancelWorkflow(workflowId, reason);
        reply = { ...rejected(commandId, status.OK, 'cancel accepted'), accepted: true, workflow: workflow ? toWorkflowView(workflow) : undefined };
      } else if (command.createStream || command.updateStream || command.pauseStream || command.resumeStream || command.deleteStream) {
        reply = await streamCommand(options.streams, tenant, commandId, command);
      } else {
        throw new InvalidArgumentError('the command names no operation (submit_job, cancel_job, …)');
      }
    } catch (error) {
      if (isWharfError(error) && error.retriable) throw error;
      if (!isWharfError(error) && isRetriable(error)) throw error;
      const { code, details } = toGrpcStatus(error);
      reply = rejected(commandId, code, details);
      if (error instanceof InvalidArgumentError || error instanceof FailedPreconditionError) reply = { ...reply, violations: [...error.violations] };
      if (!isWharfError(error)) options.logger.error({ err: error, commandId }, 'command failed unexpectedly');
    }
    await send(reply, contentType);
  };
}
