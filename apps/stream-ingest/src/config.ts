import { ConsumerGroups } from '@wharf/contracts';
import { commonConfigShape, kafkaConfigShape, sealKeyConfigShape } from '@wharf/platform';
import { hostname } from 'node:os';
import { z } from 'zod';
import { standaloneStreamSchema } from './standalone-streams';

/**
 * Every setting of stream-ingest, declared once (flag, env var and docs derive from it).
 * stream-ingest talks to Kafka and to HTTP sources only: no Kubernetes settings.
 */
export const streamIngestConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...sealKeyConfigShape(
    "File with the scheduler's seal key (32 bytes, base64 or hex): opens the stream credentials it sealed in wharf.streams. Empty: a sealed credential fails its stream.",
  ),
  replicaId: z
    .string()
    .min(1)
    .default(hostname())
    .describe('This replica\'s name in stream status records. Default: the host (pod) name.'),
  streams: z
    .array(standaloneStreamSchema)
    .default([])
    .describe('Standalone mode: run these streams (YAML list, see docs/stream-ingest.md) instead of following wharf.streams.'),
  ingress: z
    .object({
      host: z.string().default('127.0.0.1').describe('Address of the webhook ingress (POST /ingest/<path>); 0.0.0.0 in a pod.'),
      port: z.number().int().min(0).max(65535).default(8080).describe('Port of the webhook ingress; 0 picks a free one.'),
      maxBodyBytes: z.number().int().positive().default(16 * 1024 * 1024).describe('Largest webhook request body; larger ones get 413.'),
      ackTimeoutMs: z
        .number()
        .int()
        .positive()
        .default(30_000)
        .describe('How long a webhook request waits for Kafka before it gets 503 (and the sender retries).'),
    })
    .prefault({}),
  ownership: z
    .object({
      groupId: z
        .string()
        .min(1)
        .default(ConsumerGroups.streamIngest)
        .describe('Consumer group on wharf.streams; replicas sharing it share the streams.'),
      sessionTimeoutMs: z
        .number()
        .int()
        .positive()
        .default(10_000)
        .describe('Consumer-group session timeout on wharf.streams: how long a dead replica keeps its streams.'),
      heartbeatIntervalMs: z.number().int().positive().default(1_000).describe('Consumer-group heartbeat on wharf.streams.'),
    })
    .prefault({}),
  limits: z
    .object({
      maxInFlightRecords: z.number().int().positive().default(10_000).describe('Default per-stream cap of unacknowledged records.'),
      maxInFlightBytes: z
        .number()
        .int()
        .positive()
        .default(16 * 1024 * 1024)
        .describe('Default per-stream cap of unacknowledged bytes.'),
      maxInFlightRecordsCap: z.number().int().positive().default(200_000).describe('The most records a stream spec may ask for.'),
      maxInFlightBytesCap: z
        .number()
        .int()
        .positive()
        .default(64 * 1024 * 1024)
        .describe('The most in-flight bytes a stream spec may ask for.'),
    })
    .prefault({}),
  batching: z
    .object({
      maxBatchRecords: z.number().int().positive().default(2_000).describe('Most records in one produce request of a stream.'),
      maxBatchBytes: z.number().int().positive().default(1024 * 1024).describe('Most bytes in one produce request of a stream.'),
    })
    .prefault({}),
  topics: z
    .object({
      partitions: z.number().int().positive().default(3).describe('Partitions of sink and DLQ topics stream-ingest creates.'),
    })
    .prefault({}),
  statusIntervalMs: z
    .number()
    .int()
    .positive()
    .default(5_000)
    .describe('How often each running stream publishes its stats to wharf.streams.status.'),
  stopDrainMs: z
    .number()
    .int()
    .positive()
    .default(5_000)
    .describe('How long a stopping stream waits for its in-flight records to reach Kafka.'),
});
export type StreamIngestConfig = z.infer<typeof streamIngestConfigSchema>;
