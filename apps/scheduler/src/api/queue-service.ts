import type { QueueServiceService, QueueWithUsage } from '@wharf/contracts';
import type { ServiceHandlers } from '@wharf/platform';
import { weightedShare } from '../domain/queue-admission';
import { toQueueMessage, tenantMayUse, type Limits, type QueueConfig } from '../domain/queue-config';
import type { JobStore } from '../state/job-store';
import { authorizeQueue } from './access-policy';

function withUsage(store: JobStore, queue: QueueConfig, capacity: Limits): QueueWithUsage {
  const s = store.queueSnapshot(queue);
  return {
    queue: toQueueMessage(queue),
    usage: {
      queued: s.pending.size,
      running: s.running,
      used: { cpu: s.used.cpu, memory: s.used.memory, gpu: s.used.gpu },
      weightedShare: weightedShare(s.used, s.running, capacity, queue.weight),
    },
  };
}

/** QueueService: the queues a tenant may use, with their usage. */
export function queueServiceHandlers(options: {
  readonly queues: readonly QueueConfig[];
  readonly store: JobStore;
  readonly capacity: Limits;
}): ServiceHandlers<typeof QueueServiceService> {
  return {
    async listQueues(_request, ctx) {
      return {
        queues: options.queues.filter((q) => tenantMayUse(q, ctx.principal.tenant)).map((q) => withUsage(options.store, q, options.capacity)),
      };
    },
    async getQueue(request, ctx) {
      const queue = authorizeQueue(ctx.principal.tenant, options.queues.find((q) => q.name === request.name), request.name);
      return withUsage(options.store, queue, options.capacity);
    },
  };
}
