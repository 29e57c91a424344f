import { ConsumerGroups, Topics } from '@wharf/contracts';
import { commonConfigShape, kafkaConfigShape, kubeConfigShape, sealKeyConfigShape } from '@wharf/platform';
import { z } from 'zod';

const list = (description: string, dflt: string[]) => z.array(z.string().min(1)).default(dflt).describe(description);

/** Every setting of job-launcher, declared once (flag, env var and docs derive from it). */
export const jobLauncherConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...kubeConfigShape,
  ...sealKeyConfigShape(
    "File with the scheduler's seal key (32 bytes, base64 or hex): opens the inline secret values it sealed. Empty: a sealed value is refused.",
  ),
  policy: z
    .object({
      namespaces: list('Namespaces Jobs may be created in (the allowlist); commands naming others are rejected.', ['default']),
      images: list(
        'Allowed images: patterns with * matched against the normalized reference (docker.io/library/busybox:latest); * allows all.',
        ['docker.io/library/*'],
      ),
      serviceAccounts: list('Service accounts pods may run as (* allows all); empty spec means "default".', ['default']),
      maxItems: z.number().int().positive().default(10_000).describe('Most items (indexes) of one run.'),
      maxParallelism: z.number().int().positive().default(1_000).describe('Most pods of one run at once.'),
      maxConfigBytes: z
        .number()
        .int()
        .positive()
        .default(16_000_000)
        .describe('Largest inputs + items of one run, all inputs ConfigMaps together (16 bytes counted per item on top).'),
      maxSecretBytes: z.number().int().positive().default(256_000).describe('Largest sum of inline secret values of one run.'),
      maxActiveDeadlineSeconds: z.number().int().positive().default(604_800).describe('Longest pod lifetime a command may ask for.'),
      maxBackoffLimitPerIndex: z.number().int().nonnegative().default(10).describe('Most retries per index a command may ask for.'),
      rejectUnknownFields: z
        .boolean()
        .default(true)
        .describe('Reject commands carrying fields this launcher does not know (JSON names them; protobuf by size).'),
    })
    .prefault({}),
  render: z
    .object({
      archiveFinalizer: z.boolean().default(true).describe('Put the log-archiver finalizer wharf.dev/archive-logs on every Job.'),
      defaultActiveDeadlineSeconds: z.number().int().nonnegative().default(0).describe('Pod lifetime when a spec gives none (0: none).'),
      ttlSecondsAfterFinished: z.number().int().nonnegative().default(0).describe('ttlSecondsAfterFinished of Jobs (0: unset; log-archiver deletes).'),
      runAsUser: z.number().int().positive().default(65532).describe('UID pods run as (restricted profile: never root).'),
      runAsGroup: z.number().int().positive().default(65532).describe('GID pods run as.'),
      itemEnv: z
        .enum(['shell', 'off'])
        .default('shell')
        .describe('shell: export WHARF_ITEM through /bin/sh -c (image needs a shell); off: the item is only the file.'),
      gpuResource: z.string().default('nvidia.com/gpu').describe('Extended resource name of spec.resources.gpu.'),
      imagePullPolicy: z.enum(['IfNotPresent', 'Always', 'Never']).default('IfNotPresent').describe('imagePullPolicy of job containers.'),
      inputsChunkBytes: z
        .number()
        .int()
        .min(1_000)
        .max(1_000_000)
        .default(900_000)
        .describe('Most bytes of one inputs ConfigMap (key + value + 16 per entry); larger fan-outs are split over several.'),
    })
    .prefault({}),
  launcher: z
    .object({
      launchTopic: z.string().default(Topics.launch).describe('Topic of LaunchCommands (wharf.launch).'),
      observationsTopic: z.string().default(Topics.observations).describe('Topic observations are published to (wharf.observations).'),
      groupId: z.string().default(ConsumerGroups.jobLauncher).describe('Consumer group of the launch topic.'),
      sessionTimeoutMs: z.number().int().positive().default(30_000).describe('Kafka consumer session timeout: how long a dead launcher holds its partitions.'),
      heartbeatIntervalMs: z.number().int().positive().default(3_000).describe('Kafka consumer heartbeat interval.'),
      rebalanceTimeoutMs: z.number().int().positive().default(60_000).describe('Kafka consumer rebalance timeout.'),
      concurrency: z.number().int().positive().default(16).describe('Kubernetes requests in flight at once (creates, deletes).'),
      partitionConcurrency: z
        .number()
        .int()
        .positive()
        .default(6)
        .describe('Launch-topic partitions handled at once; within a partition (so for one job id) records stay one at a time, in order.'),
      commitIntervalMs: z
        .number()
        .int()
        .positive()
        .default(1_000)
        .describe(
          'Commit launch-topic offsets during a batch at most this often: the successor of a killed launcher redoes that much work (plus the records in flight), not the whole batch.',
        ),
      publishConcurrency: z.number().int().positive().default(8).describe('Jobs whose observations are published at once.'),
      resyncMs: z.number().int().nonnegative().default(300_000).describe('Informer resync period: every Job is re-examined this often.'),
      watchStallMs: z.number().int().positive().default(330_000).describe('Restart a watch silent for this long (watchdog).'),
      topicPartitions: z.number().int().positive().default(6).describe('Partitions of the launch and observations topics when the launcher creates them.'),
      observedRunsLimit: z.number().int().positive().default(50_000).describe('Runs whose published observations are remembered, to skip repeats.'),
    })
    .prefault({}),
});
export type JobLauncherConfig = z.infer<typeof jobLauncherConfigSchema>;
