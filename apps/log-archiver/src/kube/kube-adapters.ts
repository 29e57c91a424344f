import { PassThrough, type Readable } from 'node:stream';
import { Observation, Topics } from '@wharf/contracts';
import {
  InvalidArgumentError,
  isConflict,
  isNotFound,
  type JsonPatchOp,
  type KubeClient,
  type RecordSender,
} from '@wharf/platform';
import { MissingReasons } from '../archive/run-manifest';
import type { JobLike, PodLike } from './kube-objects';
import { LogReadError, type FinalizerRemoval, type JobsPort, type ObservationSink, type PodsPort, type SecretsPort } from './kube-ports';

/** Label the Job controller puts on its pods (Kubernetes ≥ 1.27). */
export const JobControllerUidLabel = 'batch.kubernetes.io/controller-uid';

/** The archiver's ports over the platform Kubernetes client. */
export class KubeJobsAdapter implements JobsPort {
  constructor(private readonly kube: KubeClient) {}

  async get(namespace: string, name: string): Promise<JobLike | undefined> {
    try {
      return await this.kube.get('job', { namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async removeFinalizer(job: JobLike, finalizer: string, annotations: Readonly<Record<string, string>>): Promise<FinalizerRemoval> {
    const meta = job.metadata ?? {};
    const at = (meta.finalizers ?? []).indexOf(finalizer);
    if (at < 0) return 'removed';
    const ops: JsonPatchOp[] = [
      { op: 'test', path: `/metadata/finalizers/${at}`, value: finalizer },
      { op: 'remove', path: `/metadata/finalizers/${at}` },
    ];
    if (meta.annotations) {
      for (const [key, value] of Object.entries(annotations)) {
        ops.push({ op: 'add', path: `/metadata/annotations/${escapePointer(key)}`, value });
      }
    } else if (Object.keys(annotations).length > 0) {
      ops.push({ op: 'add', path: '/metadata/annotations', value: { ...annotations } });
    }
    try {
      await this.kube.jsonPatch('job', { namespace: meta.namespace ?? '', name: meta.name ?? '' }, ops, {
        resourceVersion: meta.resourceVersion ?? '',
      });
      return 'removed';
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      // The test ops failing (422) means the same as a stale resourceVersion: re-read.
      if (isConflict(error) || error instanceof InvalidArgumentError) return 'conflict';
      throw error;
    }
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.kube.delete('job', { namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

export class KubePodsAdapter implements PodsPort {
  constructor(private readonly kube: KubeClient) {}

  async listForJob(namespace: string, _jobName: string, jobUid: string): Promise<PodLike[]> {
    const { items } = await this.kube.list('pod', { namespace, labelSelector: `${JobControllerUidLabel}=${jobUid}` });
    return items.filter((pod) => (pod.metadata?.ownerReferences ?? []).some((o) => o.uid === jobUid));
  }

  /**
   * The log as a stream. Failures (before or during streaming) surface as the stream's error,
   * a {@link LogReadError}: the pod gone (404) and "not started / no previous instance" (400)
   * are definitive; an unreachable apiserver or kubelet is retried with the job.
   */
  async openLog(namespace: string, pod: string, container: string, previous: boolean): Promise<Readable> {
    const out = new PassThrough();
    this.kube
      .streamPodLog({ namespace, name: pod }, container, out, previous ? { previous } : {})
      .catch((error: unknown) => out.destroy(toLogReadError(error)));
    return out;
  }
}

export function toLogReadError(error: unknown): LogReadError {
  if (error instanceof LogReadError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isNotFound(error)) return new LogReadError(message, MissingReasons.podGone, true, { cause: error });
  if (error instanceof InvalidArgumentError) {
    const reason = /waiting to start|ContainerCreating|PodInitializing/i.test(message)
      ? MissingReasons.containerNeverStarted
      : MissingReasons.logUnavailable;
    return new LogReadError(message, reason, true, { cause: error });
  }
  return new LogReadError(message, MissingReasons.logUnavailable, false, { cause: error });
}

export class KubeSecretsAdapter implements SecretsPort {
  constructor(private readonly kube: KubeClient) {}

  async values(namespace: string, name: string): Promise<string[] | undefined> {
    try {
      const secret = await this.kube.get('secret', { namespace, name });
      return Object.values(secret.data ?? {}).map((b64) => Buffer.from(b64, 'base64').toString('utf8'));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

/** Observations on wharf.observations, keyed by job id (protobuf). */
export class KafkaObservationSink implements ObservationSink {
  constructor(private readonly producer: RecordSender) {}

  async publish(observation: Observation): Promise<void> {
    await this.producer.sendMessage(Topics.observations, observation.jobId, Observation, observation);
  }
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
