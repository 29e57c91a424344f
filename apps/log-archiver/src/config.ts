import { commonConfigShape, kafkaConfigShape, kubeConfigShape } from '@wharf/platform';
import { z } from 'zod';

const MiB = 1024 * 1024;

/** Every setting of log-archiver, declared once (flag, env var and docs derive from it). */
export const logArchiverConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...kubeConfigShape,
  archive: z
    .object({
      store: z.enum(['filesystem', 's3']).default('filesystem').describe('Where logs are archived: filesystem (embedded, local use) or s3.'),
      prefix: z.string().default('logs').describe('Key prefix of every archived object (<prefix>/<namespace>/<job-id>/run-<n>/…).'),
      filesystem: z
        .object({
          root: z.string().default('./var/log-archive').describe('Directory of the filesystem store.'),
          fsync: z.boolean().default(true).describe('fsync every object before it counts as archived.'),
        })
        .prefault({}),
      s3: z
        .object({
          endpoint: z.string().optional().describe('S3 endpoint URL (MinIO, versitygw…); unset for AWS.'),
          region: z.string().default('us-east-1').describe('S3 region.'),
          bucket: z.string().optional().describe('Bucket of the archive (required for store=s3).'),
          accessKeyId: z.string().optional().describe('Access key id; unset: the AWS default credential chain.'),
          secretAccessKey: z.string().optional().describe('Secret access key (prefer the environment variable).'),
          forcePathStyle: z.boolean().default(true).describe('Path-style addressing (needed by MinIO-like stores).'),
          partSizeMiB: z.number().int().min(5).default(5).describe('Multipart part size; memory per upload ≈ part × (queueSize + 1).'),
          queueSize: z.number().int().positive().default(2).describe('Parts of one object uploaded in parallel.'),
          verifyEtag: z.boolean().default(true).describe('Compare the store ETag with the locally computed MD5 ETag.'),
          expectContinue: z.boolean().default(false).describe('Send Expect: 100-continue on large uploads.'),
          signPayload: z
            .boolean()
            .default(false)
            .describe('Sign the SHA-256 of uploaded bodies (SigV4); off: UNSIGNED-PAYLOAD, the verified MD5 ETag proves the content.'),
        })
        .prefault({}),
      logConcurrency: z.number().int().positive().default(8).describe('Container logs streamed at once per job.'),
      maxStreams: z.number().int().positive().default(16).describe('Container logs streamed at once in total (all jobs).'),
    })
    .prefault({}),
  archiver: z
    .object({
      namespaces: z
        .array(z.string().min(1))
        .default([])
        .describe('Namespaces whose Jobs are watched (comma-separated); empty: all namespaces.'),
      workers: z.number().int().positive().default(8).describe('Jobs archived at once.'),
      deleteJob: z.boolean().default(true).describe('Delete the Job (background propagation) once its logs are archived.'),
      redact: z.boolean().default(true).describe("Replace the job's own Secret values in archived logs."),
      minSecretLength: z.number().int().positive().default(4).describe('Secret values shorter than this are not redacted.'),
      retryMinDelayMs: z.number().int().positive().default(1_000).describe('First retry delay after a failed archive pass.'),
      retryMaxDelayMs: z.number().int().positive().default(60_000).describe('Longest retry delay.'),
      deadlineMs: z
        .number()
        .int()
        .positive()
        .default(6 * 60 * 60 * 1000)
        .describe('How long after a Job finished (or was deleted) archiving may keep failing before onDeadline applies.'),
      onDeadline: z
        .enum(['hold', 'release'])
        .default('hold')
        .describe('After the deadline: hold (keep the finalizer, keep retrying) or release (publish ArchiveFailed released=true, remove the finalizer).'),
      resyncMs: z.number().int().nonnegative().default(60_000).describe('Informer resync: every Job is re-examined this often.'),
      watchStallMs: z.number().int().positive().default(330_000).describe('Restart a watch silent for this long (watchdog).'),
      topicPartitions: z.number().int().positive().default(6).describe('Partitions of wharf.observations if the archiver creates it.'),
    })
    .prefault({}),
  leaderElection: z
    .object({
      enabled: z.boolean().default(true).describe('Run as one active replica (Lease); standbys take over.'),
      namespace: z.string().default('default').describe('Namespace of the Lease.'),
      leaseName: z.string().default('wharf-log-archiver').describe('Name of the Lease.'),
      identity: z.string().optional().describe('This replica in the Lease; default: hostname-pid.'),
      leaseDurationMs: z.number().int().positive().default(15_000).describe('Lease duration.'),
    })
    .prefault({}),
});
export type LogArchiverConfig = z.infer<typeof logArchiverConfigSchema>;

export const bytesPerMiB = MiB;
