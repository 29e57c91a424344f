import {
  JobState,
  type JobServiceService,
  type ListJobsResponse,
  type WatchJobResponse,
} from '@wharf/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  type ServiceHandlers,
} from '@wharf/platform';
import { explainJob } from '../domain/job-explainer';
import type { Limits } from '../domain/queue-config';
import type { JobEngine } from '../engine/job-engine';
import { decodeResumeToken, encodeResumeToken, type EventHub, type PositionedEvent } from '../state/event-hub';
import type { JobStore } from '../state/job-store';
import { authorizeJob, authorizeSubmit } from './access-policy';
import { toJobView } from './job-view';
import { follow, pageOf } from './follow';
import type { ArchivedLogs, LiveLogs } from './log-ports';

export interface JobServiceOptions {
  readonly engine: JobEngine;
  readonly store: JobStore;
  readonly hub: EventHub;
  readonly capacity: Limits;
  readonly now: () => Date;
  /** Time between heartbeats on idle watch streams. @default 5_000 */
  readonly heartbeatMs?: number;
  /** Events buffered for a watcher that does not read before it is cut off. @default 10_000 */
  readonly maxBufferedEvents?: number;
  readonly liveLogs?: LiveLogs;
  readonly archivedLogs?: ArchivedLogs;
}

export function jobServiceHandlers(options: JobServiceOptions): ServiceHandlers<typeof JobServiceService> {
  const { engine, store, hub } = options;
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const maxBuffered = options.maxBufferedEvents ?? 10_000;

  return {
    async submitJob(request, ctx) {
      authorizeSubmit(ctx.principal.tenant, request.spec?.queue ?? '', request.spec?.namespace ?? '', engine.queues);
      const outcome = await engine.submit(ctx.principal.tenant, request);
      return { job: toJobView(outcome.record), created: outcome.created };
    },

    async getJob(request, ctx) {
      return toJobView(authorizeJob(ctx.principal.tenant, store.get(request.jobId), request.jobId));
    },

    async listJobs(request, ctx): Promise<ListJobsResponse> {
      const jobs = store.list({ tenant: ctx.principal.tenant, queue: request.queue, namespace: request.namespace, states: request.states, labels: request.labels });
      const { page, nextPageToken } = pageOf(jobs, (j) => ({ createdMs: j.createdAt?.getTime() ?? 0, id: j.jobId }), request);
      return { jobs: page.map(toJobView), nextPageToken };
    },

    async cancelJob(request, ctx) {
      authorizeJob(ctx.principal.tenant, store.get(request.jobId), request.jobId);
      const record = await engine.cancel(request.jobId, request.reason);
      if (!record) throw new NotFoundError(`no job '${request.jobId}'`);
      return { job: toJobView(record) };
    },

    async watchJob(request, ctx, write) {
      const jobId = request.jobId;
      authorizeJob(ctx.principal.tenant, store.get(jobId), jobId);
      if (request.afterSequence < 0) throw new InvalidArgumentError('invalid sequence', [{ field: 'after_sequence', description: 'must not be negative' }]);
      // History and subscription in one synchronous step: no event falls between them.
      const { events, complete } = hub.history(jobId, request.afterSequence);
      if (!complete) {
        throw new FailedPreconditionError(`events of job '${jobId}' after sequence ${request.afterSequence} are no longer all kept; call GetJob for the current state`);
      }
      let last = request.afterSequence;
      const subscribe = (push: (item: PositionedEvent) => void) => hub.subscribe((item) => item.event.jobId === jobId && push(item));
      const send = async (item: PositionedEvent): Promise<void> => {
        if (item.event.sequence <= last) return;
        last = item.event.sequence;
        const response: WatchJobResponse = { event: item.event, heartbeat: undefined, resumeToken: String(last) };
        await write(response);
      };
      const heartbeat = () => write({ event: undefined, heartbeat: { time: options.now(), resumeToken: String(last) }, resumeToken: String(last) });
      await follow(ctx.signal, subscribe, events, send, heartbeat, heartbeatMs, maxBuffered);
    },

    async watchJobs(request, ctx, write) {
      const tenant = ctx.principal.tenant;
      let offsets: Map<number, bigint>;
      try {
        offsets = decodeResumeToken(request.resumeToken);
      } catch {
        throw new InvalidArgumentError('invalid resume token', [{ field: 'resume_token', description: 'not a token from a previous watch' }]);
      }
      const matches = (item: PositionedEvent) => item.event.tenant === tenant && (request.queue === '' || item.event.queue === request.queue);
      const initial = request.resumeToken === '' ? [] : hub.since(offsets).filter(matches);
      const subscribe = (push: (item: PositionedEvent) => void) => hub.subscribe((item) => matches(item) && push(item));
      const send = async (item: PositionedEvent): Promise<void> => {
        const { partition, offset } = item.position;
        const seen = offsets.get(partition);
        if (seen !== undefined && BigInt(offset) <= seen) return;
        offsets.set(partition, BigInt(offset));
        await write({ event: item.event, heartbeat: undefined, resumeToken: encodeResumeToken(offsets) });
      };
      const heartbeat = () => {
        const token = encodeResumeToken(offsets);
        return write({ event: undefined, heartbeat: { time: options.now(), resumeToken: token }, resumeToken: token });
      };
      await follow(ctx.signal, subscribe, initial, send, heartbeat, heartbeatMs, maxBuffered);
    },

    async explainJob(request, ctx) {
      const record = authorizeJob(ctx.principal.tenant, store.get(request.jobId), request.jobId);
      const snapshot = store.snapshot(engine.queues, options.capacity, Infinity);
      return explainJob(snapshot, record, options.now());
    },

    async getLogs(request, ctx, write) {
      const record = authorizeJob(ctx.principal.tenant, store.get(request.jobId), request.jobId);
      const runNumber = request.run === 0 ? record.runs.length : request.run;
      const run = record.runs[runNumber - 1];
      if (!run) {
        throw new FailedPreconditionError(
          record.runs.length === 0 ? `job '${record.jobId}' has not started a run yet` : `job '${record.jobId}' has no run ${runNumber}`,
        );
      }
      const index = request.index;
      const total = Math.max(1, record.spec?.items.length ?? 0);
      if (index < 0 || index >= total) {
        throw new InvalidArgumentError('invalid index', [{ field: 'index', description: `the job has indexes 0..${total - 1}` }]);
      }
      const emit = (source: string) => (piece: { pod: string; container: string; index: number; data: Buffer }) =>
        write({ pod: piece.pod, container: piece.container, index: piece.index, data: piece.data, source });
      if (run.logsManifest !== '') {
        if (!options.archivedLogs) throw new FailedPreconditionError('this scheduler has no archive store configured');
        await options.archivedLogs.stream(run.logsManifest, index, request.container, ctx.signal, emit('archive'));
        return;
      }
      if (run.logsLost) throw new FailedPreconditionError(`the logs of run ${runNumber} were lost (the archiver released them)`);
      if (!options.liveLogs) throw new FailedPreconditionError('this scheduler cannot read live logs (no Kubernetes access configured)');
      const found = await options.liveLogs.stream(
        {
          namespace: record.spec?.namespace ?? '',
          jobId: record.jobId,
          run: runNumber,
          index,
          container: request.container,
          follow: request.follow,
          signal: ctx.signal,
        },
        emit('live'),
      );
      if (!found) {
        const finished = record.state === JobState.JOB_STATE_SUCCEEDED || record.state === JobState.JOB_STATE_FAILED || record.state === JobState.JOB_STATE_CANCELLED;
        throw new FailedPreconditionError(
          finished
            ? `run ${runNumber} has finished and its logs are not archived yet; try again shortly`
            : `index ${index} of run ${runNumber} has no pod yet`,
        );
      }
    },
  };
}
