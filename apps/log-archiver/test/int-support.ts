import { createHash } from 'node:crypto';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ArchiveFinalizer, contentTypeOf, decodeMessage, KubeLabels, Observation, Topics } from '@wharf/contracts';
import { testInfra, uniqueName } from '@wharf/testing';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { parseManifest, type RunManifest } from '../src/archive/run-manifest';

/** Shared helpers of log-archiver's integration tests (real Kubernetes with KWOK, S3, Kafka). */
export function kubeApis(): { batch: BatchV1Api; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(testInfra().kube.kubeconfigPath);
  return { batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api) };
}

/** The env (WHARF_*) that configures an archiver for this test run. */
export function archiverEnv(opts: { namespace: string; bucket: string; s3Endpoint: string; prefix?: string }): Record<string, string> {
  const infra = testInfra();
  return {
    WHARF_KAFKA_BROKERS: infra.kafka.brokers.join(','),
    WHARF_KUBE_KUBECONFIG: infra.kube.kubeconfigPath,
    WHARF_ARCHIVE_STORE: 's3',
    WHARF_ARCHIVE_PREFIX: opts.prefix ?? 'logs',
    WHARF_ARCHIVE_S3_ENDPOINT: opts.s3Endpoint,
    WHARF_ARCHIVE_S3_REGION: infra.s3.region,
    WHARF_ARCHIVE_S3_BUCKET: opts.bucket,
    WHARF_ARCHIVE_S3_ACCESS_KEY_ID: infra.s3.accessKeyId,
    WHARF_ARCHIVE_S3_SECRET_ACCESS_KEY: infra.s3.secretAccessKey,
    WHARF_ARCHIVER_NAMESPACES: opts.namespace,
    WHARF_ARCHIVER_RETRY_MIN_DELAY_MS: '250',
    WHARF_ARCHIVER_RETRY_MAX_DELAY_MS: '2000',
    WHARF_ARCHIVER_RESYNC_MS: '5000',
    WHARF_LEADER_ELECTION_ENABLED: 'false',
    WHARF_LOG_LEVEL: 'warn',
    WHARF_OPS_PORT: '0',
  };
}

export async function createBucket(s3: S3Client): Promise<string> {
  const bucket = uniqueName('archive');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function getObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const result = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (result.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

export async function getManifest(s3: S3Client, bucket: string, key: string): Promise<RunManifest> {
  const manifest = parseManifest(await getObject(s3, bucket, key));
  if (!manifest) throw new Error(`not a manifest: ${key}`);
  return manifest;
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** The sim-log template every test job prints (the container simulator renders it). */
export const simLog = 'container ${CONTAINER_NAME} of ${POD_NAME} index ${JOB_COMPLETION_INDEX}\nsecond line\n';

export function renderedLog(container: string, pod: string, index: number, template = simLog): string {
  return template
    .replaceAll('${CONTAINER_NAME}', container)
    .replaceAll('${POD_NAME}', pod)
    .replaceAll('${JOB_COMPLETION_INDEX}', String(index));
}

export interface TestJob {
  readonly name: string;
  readonly jobId: string;
  readonly run: number;
}

/** Creates an Indexed Job the way job-launcher does (labels, annotations, finalizer). */
export async function createJob(
  batch: BatchV1Api,
  core: CoreV1Api,
  namespace: string,
  opts: {
    jobId?: string;
    completions?: number;
    durationMs?: number;
    log?: string;
    init?: boolean;
    secret?: Record<string, string>;
    suspend?: boolean;
  } = {},
): Promise<TestJob> {
  const jobId = opts.jobId ?? uniqueName('job');
  const run = 1;
  const name = `w-${jobId}-r${run}`;
  const completions = opts.completions ?? 3;
  if (opts.secret) {
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: `${name}-secrets`, namespace }, stringData: opts.secret },
    });
  }
  const body: V1Job = {
    metadata: {
      name,
      namespace,
      labels: { [KubeLabels.managedBy]: KubeLabels.managedByValue, [KubeLabels.jobId]: jobId, [KubeLabels.run]: String(run) },
      annotations: { [KubeLabels.jobId]: jobId, [KubeLabels.run]: String(run), 'wharf.dev/tenant': 'test' },
      finalizers: [ArchiveFinalizer],
    },
    spec: {
      completionMode: 'Indexed',
      completions,
      parallelism: completions,
      backoffLimitPerIndex: 0,
      maxFailedIndexes: completions,
      ...(opts.suspend ? { suspend: true } : {}),
      template: {
        metadata: {
          annotations: {
            'wharf.dev/sim-log': opts.log ?? simLog,
            'wharf.dev/sim-duration-ms': String(opts.durationMs ?? 300),
          },
        },
        spec: {
          restartPolicy: 'Never',
          ...(opts.init ? { initContainers: [{ name: 'setup', image: 'busybox' }] } : {}),
          containers: [
            {
              name: 'main',
              image: 'busybox',
              ...(opts.secret
                ? {
                    env: Object.keys(opts.secret).map((key) => ({
                      name: key,
                      valueFrom: { secretKeyRef: { name: `${name}-secrets`, key } },
                    })),
                  }
                : {}),
            },
          ],
        },
      },
    },
  };
  await batch.createNamespacedJob({ namespace, body });
  return { name, jobId, run };
}

export async function jobExists(batch: BatchV1Api, namespace: string, name: string): Promise<V1Job | undefined> {
  try {
    return await batch.readNamespacedJob({ namespace, name });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Collects every observation on wharf.observations from the start of the topic. */
export class ObservationCollector {
  readonly observations: Observation[] = [];
  private consumer: Consumer | undefined;

  async start(): Promise<void> {
    const kafka = new Kafka({ clientId: uniqueName('obs'), brokers: testInfra().kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: Topics.observations, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    this.consumer = kafka.consumer({ groupId: uniqueName('obs') });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: Topics.observations, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const headers = message.headers as Record<string, Buffer | string | undefined> | undefined;
        this.observations.push(decodeMessage(Observation, 'Observation', message.value, contentTypeOf(headers, message.value)));
      },
    });
  }

  of(jobId: string): Observation[] {
    return this.observations.filter((o) => o.jobId === jobId);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
