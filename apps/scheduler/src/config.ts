import { commonConfigShape, kafkaConfigShape, kubeConfigShape, sealKeyConfigShape } from '@wharf/platform';
import { hostname } from 'node:os';
import { defaultDefinitionDefaults } from '@wharf/streams';
import { z } from 'zod';
import { capacitySchema, queueSchema } from './domain/queue-config';
import { defaultSpecLimits } from './domain/spec-validator';

/** Every setting of the scheduler, declared once (flag, env var and docs derive from it). */
export const schedulerConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...kubeConfigShape,
  ...sealKeyConfigShape(
    'File with the 32-byte key (base64 or hex) that seals inline secret values before they reach Kafka; job-launcher needs the same key. Empty: stored unsealed (a warning at start).',
  ),
  grpc: z
    .object({
      host: z.string().default('127.0.0.1').describe('Address the gRPC API listens on.'),
      port: z.number().int().min(0).max(65535).default(50051).describe('Port of the gRPC API.'),
      tlsCertFile: z.string().optional().describe('Server certificate (PEM); with tlsKeyFile enables TLS.'),
      tlsKeyFile: z.string().optional().describe('Server private key (PEM).'),
      tlsClientCaFile: z.string().optional().describe('CA of client certificates; set to require mTLS.'),
    })
    .prefault({}),
  auth: z
    .object({
      tokensFile: z
        .string()
        .default('')
        .describe('YAML file of tenants and their bearer tokens (a mounted Kubernetes Secret). Required.'),
    })
    .prefault({}),
  queues: z
    .array(queueSchema)
    .min(1)
    .default([{ name: 'default', weight: 1, maxRunning: 0, quota: {}, defaultActiveDeadlineSeconds: 3_600, maxActiveDeadlineSeconds: 86_400, tenants: ['*'], namespaces: ['default'] }])
    .describe('Queues (JSON/YAML list): name, weight, maxRunning, quota {cpu, memory, gpu}, default/maxActiveDeadlineSeconds, tenants, namespaces.'),
  capacity: capacitySchema
    .prefault({})
    .describe('Compute shared by all queues (cpu, memory, gpu, maxRunning); unset: the sum of queue quotas.'),
  limits: z
    .object({
      maxSpecBytes: z.number().int().positive().default(defaultSpecLimits.maxSpecBytes).describe('Largest encoded job spec.'),
      maxItems: z.number().int().positive().default(defaultSpecLimits.maxItems).describe('Most items (indexes) per job.'),
      maxItemBytes: z.number().int().positive().default(defaultSpecLimits.maxItemBytes).describe('Largest item.'),
      maxInputsBytes: z.number().int().positive().default(defaultSpecLimits.maxInputsBytes).describe('Largest inputs JSON.'),
      maxParallelism: z.number().int().positive().default(defaultSpecLimits.maxParallelism).describe('Highest parallelism.'),
      maxEnv: z.number().int().positive().default(defaultSpecLimits.maxEnv).describe('Most env variables and secrets per job.'),
      maxAttempts: z.number().int().positive().default(defaultSpecLimits.maxAttempts).describe('Highest retry.max_attempts.'),
      imageAllowlist: z.array(z.string()).default([]).describe('Allowed image prefixes (comma-separated); empty allows all.'),
    })
    .prefault({}),
  admission: z
    .object({
      intervalMs: z.number().int().positive().default(200).describe('Time between admission cycles.'),
      maxPerCycle: z.number().int().positive().default(500).describe('Most admissions per cycle (one transaction).'),
    })
    .prefault({}),
  retention: z
    .object({
      finishedJobsMs: z.number().int().positive().default(7 * 24 * 3_600_000).describe('How long finished jobs stay in the changelog.'),
      sweepIntervalMs: z.number().int().positive().default(60_000).describe('Time between retention sweeps.'),
    })
    .prefault({}),
  state: z
    .object({
      transactionalId: z.string().default('wharf.scheduler').describe('Kafka transactional id shared by all scheduler instances (the write fence).'),
      partitions: z.number().int().positive().default(3).describe('Partitions of the scheduler topics it creates.'),
      restoreEvents: z.boolean().default(true).describe('Replay wharf.job-events on takeover, so watches can resume from any sequence.'),
      maxBatch: z.number().int().positive().default(1_000).describe('Most operations per state transaction (group commit).'),
      namespace: z
        .string()
        .default('')
        .describe('Prefix of every topic, consumer group and transactional id ("<ns>.wharf.commands"): isolated stacks on one Kafka (tests). Empty: the contract names.'),
    })
    .prefault({}),
  leader: z
    .object({
      election: z.enum(['lease', 'none']).default('none').describe('lease: a Kubernetes Lease picks the writer; none: a single instance.'),
      namespace: z.string().default('wharf-system').describe('Namespace of the Lease.'),
      leaseName: z.string().default('wharf-scheduler').describe('Name of the Lease.'),
      identity: z.string().default(`${hostname()}-${process.pid}`).describe('This instance in the Lease (the pod name).'),
      leaseDurationMs: z
        .number()
        .int()
        .positive()
        .multipleOf(1_000, 'a Lease holds whole seconds')
        .default(3_000)
        .describe('How long a lease is valid after its last renewal (whole seconds): a standby takes over this long after the leader died.'),
      renewDeadlineMs: z.number().int().positive().default(2_000).describe('A leader that cannot renew for this long steps down; below leaseDurationMs.'),
      retryPeriodMs: z.number().int().positive().default(500).describe('Time between lease attempts.'),
    })
    .refine((l) => l.renewDeadlineMs < l.leaseDurationMs, { message: 'renewDeadlineMs must be below leaseDurationMs', path: ['renewDeadlineMs'] })
    .refine((l) => l.retryPeriodMs * 1.2 < l.renewDeadlineMs, { message: 'retryPeriodMs (plus 20% jitter) must be below renewDeadlineMs', path: ['retryPeriodMs'] })
    .prefault({}),
  watch: z
    .object({
      heartbeatMs: z.number().int().positive().default(5_000).describe('Heartbeat interval of idle watch streams.'),
      maxBufferedEvents: z.number().int().positive().default(10_000).describe('Events a slow watcher may fall behind before it is cut off.'),
    })
    .prefault({}),
  streams: z
    .object({
      topic: z
        .string()
        .default('')
        .describe('Topic of the stream specs StreamService writes (stream-ingest follows it). Empty: wharf.streams, with state.namespace.'),
      statusTopic: z
        .string()
        .default('')
        .describe('Topic of the stream statuses stream-ingest reports. Empty: wharf.streams.status, with state.namespace.'),
      partitions: z
        .number()
        .int()
        .positive()
        .default(6)
        .describe('Partitions of the two stream topics when the scheduler creates them (at most this many stream-ingest replicas share the streams).'),
      maxInFlightRecordsCap: z
        .number()
        .int()
        .positive()
        .default(defaultDefinitionDefaults.maxInFlightRecordsCap)
        .describe("The most in-flight records a stream spec may ask for (keep equal to stream-ingest's limits.maxInFlightRecordsCap)."),
      maxInFlightBytesCap: z
        .number()
        .int()
        .positive()
        .default(defaultDefinitionDefaults.maxInFlightBytesCap)
        .describe("The most in-flight bytes a stream spec may ask for (keep equal to stream-ingest's limits.maxInFlightBytesCap)."),
    })
    .prefault({}),
  archive: z
    .object({
      s3Endpoint: z.string().optional().describe('S3 endpoint of the log archive (GetLogs after LogsArchived).'),
      s3Region: z.string().default('us-east-1').describe('S3 region.'),
      s3AccessKeyId: z.string().optional().describe('S3 access key id.'),
      s3SecretAccessKey: z.string().optional().describe('S3 secret access key.'),
      s3ForcePathStyle: z.boolean().default(true).describe('Path-style S3 URLs (local S3 servers).'),
    })
    .prefault({}),
});
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;
