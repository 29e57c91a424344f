import type { Readable } from 'node:stream';
import type { Observation } from '@wharf/contracts';
import { WharfError, type WharfErrorOptions } from '@wharf/platform';
import type { MissingReason } from '../archive/run-manifest';
import type { JobLike, PodLike } from './kube-objects';

/**
 * The narrow ports the archiver needs from Kubernetes and Kafka. Adapters (kube/*-adapter.ts,
 * observation-publisher.ts) implement them over libs/platform; unit tests use fakes.
 */

export type FinalizerRemoval = 'removed' | 'conflict' | 'gone';

export interface JobsPort {
  /** The Job as the API has it now; undefined when it no longer exists. */
  get(namespace: string, name: string): Promise<JobLike | undefined>;
  /**
   * Removes `finalizer` only if the Job is still at the resourceVersion of `job` (optimistic
   * concurrency), setting `annotations` in the same write. `conflict`: the Job changed, re-read
   * and decide again; `gone`: it no longer exists.
   */
  removeFinalizer(job: JobLike, finalizer: string, annotations: Readonly<Record<string, string>>): Promise<FinalizerRemoval>;
  /** Deletes with background propagation and a uid precondition; absent is success. */
  delete(namespace: string, name: string, uid: string): Promise<void>;
}

export interface PodsPort {
  /** The pods the Job controller created for the Job (selector on its controller uid). */
  listForJob(namespace: string, jobName: string, jobUid: string): Promise<PodLike[]>;
  /**
   * The log of one container instance, from its first byte (no follow). Thrown:
   * {@link LogReadError} — before or during streaming.
   */
  openLog(namespace: string, pod: string, container: string, previous: boolean): Promise<Readable>;
}

export interface SecretsPort {
  /** The decoded values of a Secret's `data`; undefined when the Secret does not exist. */
  values(namespace: string, name: string): Promise<string[] | undefined>;
}

export interface ObservationSink {
  /** Publishes on wharf.observations keyed by job id, acks=all. */
  publish(observation: Observation): Promise<void>;
}

/**
 * Thrown when a log cannot be read. `definitive` errors (the pod is gone, the container never
 * ran) become a manifest marker with `reason`; others are retried with the whole job.
 */
export class LogReadError extends WharfError {
  override readonly name: string = 'LogReadError';
  override readonly retriable: boolean;
  constructor(
    message: string,
    readonly reason: MissingReason,
    readonly definitive: boolean,
    options: WharfErrorOptions = {},
  ) {
    super(message, options);
    this.retriable = !definitive;
  }
}
