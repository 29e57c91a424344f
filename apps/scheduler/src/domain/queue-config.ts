import type { Queue } from '@wharf/contracts';
import { z } from 'zod';
import { parseCpu, parseMemory } from './quantity';

/** Compute as plain numbers: cores, bytes, devices. */
export interface Demand {
  readonly cpu: number;
  readonly memory: number;
  readonly gpu: number;
}

export const zeroDemand: Demand = Object.freeze({ cpu: 0, memory: 0, gpu: 0 });

export function addDemand(a: Demand, b: Demand): Demand {
  return { cpu: a.cpu + b.cpu, memory: a.memory + b.memory, gpu: a.gpu + b.gpu };
}

const quantityText = (parse: (text: string) => number | undefined, what: string) =>
  z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : parse(value);
    if (parsed === undefined || parsed < 0) {
      ctx.addIssue({ code: 'custom', message: `not a ${what} quantity: '${String(value)}'` });
      return z.NEVER;
    }
    return parsed;
  });

/** A resource limit; absent (or 0 for a queue quota) means unlimited. */
export const quotaSchema = z.object({
  cpu: quantityText(parseCpu, 'CPU').optional().describe('Cores, e.g. 8 or "500m".'),
  memory: quantityText(parseMemory, 'memory').optional().describe('Bytes or a quantity, e.g. "16Gi".'),
  gpu: z.number().int().nonnegative().optional(),
});

export const queueSchema = z.object({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'queue names are DNS labels'),
  weight: z.number().positive().default(1),
  maxRunning: z.number().int().nonnegative().default(0).describe('0: unlimited.'),
  quota: quotaSchema.default({}),
  defaultActiveDeadlineSeconds: z.number().int().positive().default(3_600),
  maxActiveDeadlineSeconds: z.number().int().positive().default(86_400),
  tenants: z.array(z.string().min(1)).default([]),
  namespaces: z.array(z.string().min(1)).default([]),
});
export type QueueConfig = z.infer<typeof queueSchema>;

/** The compute shared by all queues; under contention it is divided by weighted fair share. */
export const capacitySchema = quotaSchema.extend({
  maxRunning: z.number().int().nonnegative().default(0).describe('0: unlimited.'),
});
export type CapacityConfig = z.infer<typeof capacitySchema>;

/** Limits as numbers, Infinity for "unlimited". */
export interface Limits {
  readonly cpu: number;
  readonly memory: number;
  readonly gpu: number;
  readonly maxRunning: number;
}

const unlimited = (value: number | undefined): number => (value === undefined || value <= 0 ? Infinity : value);

export function queueLimits(queue: QueueConfig): Limits {
  return {
    cpu: unlimited(queue.quota.cpu),
    memory: unlimited(queue.quota.memory),
    gpu: unlimited(queue.quota.gpu),
    maxRunning: unlimited(queue.maxRunning),
  };
}

/**
 * The cluster's capacity: configured, or else the sum of the queue quotas (a queue without a
 * quota for a resource makes that resource unlimited).
 */
export function clusterLimits(capacity: CapacityConfig, queues: readonly QueueConfig[]): Limits {
  const sum = (pick: (q: QueueConfig) => number | undefined): number =>
    queues.reduce((total, q) => total + unlimited(pick(q)), 0);
  return {
    cpu: capacity.cpu !== undefined && capacity.cpu > 0 ? capacity.cpu : sum((q) => q.quota.cpu),
    memory: capacity.memory !== undefined && capacity.memory > 0 ? capacity.memory : sum((q) => q.quota.memory),
    gpu: capacity.gpu !== undefined && capacity.gpu > 0 ? capacity.gpu : sum((q) => q.quota.gpu),
    maxRunning: unlimited(capacity.maxRunning),
  };
}

/** The wire form of a queue (QueueService). */
export function toQueueMessage(queue: QueueConfig): Queue {
  return {
    name: queue.name,
    weight: queue.weight,
    maxRunning: queue.maxRunning,
    quota: { cpu: queue.quota.cpu ?? 0, memory: queue.quota.memory ?? 0, gpu: queue.quota.gpu ?? 0 },
    defaultActiveDeadlineSeconds: queue.defaultActiveDeadlineSeconds,
    maxActiveDeadlineSeconds: queue.maxActiveDeadlineSeconds,
    tenants: [...queue.tenants],
    namespaces: [...queue.namespaces],
  };
}

/** True when `tenant` may use `queue`. */
export function tenantMayUse(queue: QueueConfig, tenant: string): boolean {
  return queue.tenants.includes(tenant) || queue.tenants.includes('*');
}

export function namespaceAllowed(queue: QueueConfig, namespace: string): boolean {
  return queue.namespaces.includes(namespace) || queue.namespaces.includes('*');
}
