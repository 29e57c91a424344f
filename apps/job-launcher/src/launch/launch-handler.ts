import {
  contentTypeOf,
  ContentTypes,
  decodeMessage,
  KubeLabels,
  LaunchCommand,
  type CancelRun,
  type LaunchRun,
} from '@wharf/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  isAlreadyExists,
  isNotFound,
  isRetriable,
  openSecret,
  type Logger,
  type SecretSealer,
  type Violation,
} from '@wharf/platform';
import type { KubeJob, ObjectMeta } from '../kube/kube-objects';
import type { Workloads } from '../kube/workloads';
import type { ObservationPublisher } from '../observations/observation-publisher';
import { observationKey, observationSource, type KeyedObservation } from '../watch/status-interpreter';
import { unknownJsonFields } from './command-schema';
import { inputsChunkViolations, LaunchAnnotations, ownedBy, renderRun, type RenderedRun, type RenderOptions } from './job-renderer';
import { kubeJobName } from './launch-names';
import { validateCancelRun, validateLaunchRun, type LaunchPolicy } from './launch-policy';
import { restrictedPodViolations } from './pod-security';

/** Why a run was refused (RunRejectedObservation.reason). */
export const RejectReasons = {
  policy: 'PolicyViolation',
  nameConflict: 'NameConflict',
  kubernetes: 'KubernetesRejected',
} as const;

export interface LaunchHandlerOptions {
  readonly workloads: Workloads;
  readonly publisher: Pick<ObservationPublisher, 'publish'>;
  readonly policy: LaunchPolicy & { readonly rejectUnknownFields: boolean };
  readonly render: RenderOptions;
  /** Opens inline secret values the scheduler sealed (none: a sealed value is refused). */
  readonly sealer?: SecretSealer;
  readonly logger: Logger;
  readonly now: () => Date;
  /** The informer cache, consulted before asking the apiserver where a run's Job is. */
  readonly findCachedJob?: (namespace: string, name: string) => KubeJob | undefined;
}

/** A Kafka record as the handler needs it (the pipeline's ConsumedRecord<Buffer> fits). */
export interface LaunchRecord {
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
}

/**
 * Thrown for commands that are refused (a command that does not decode throws DecodeError): the consumer pipeline parks the record in
 * `wharf.launch.dlq` with this message (violations included, never secret values). When the
 * command named a run, a RunRejected observation was published first.
 */
export class LaunchRefusedError extends InvalidArgumentError {
  override readonly name: string = 'LaunchRefusedError';
}

function isOurs(meta: ObjectMeta, jobId: string, run: number): boolean {
  const labels = meta.labels ?? {};
  return (
    labels[KubeLabels.managedBy] === KubeLabels.managedByValue &&
    labels[KubeLabels.jobId] === jobId &&
    labels[KubeLabels.run] === String(run)
  );
}

function isFinished(job: KubeJob): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/**
 * Handles one record of `wharf.launch`: decode strictly, re-validate, render, create (or
 * cancel). Idempotent — records arrive at least once:
 *  - names are deterministic, so a repeated LaunchRun meets AlreadyExists, which is "done" when
 *    the object is ours (our labels, same job id and run; owned objects: owned by our Job),
 *    and an error otherwise;
 *  - Jobs needing a Secret or inputs ConfigMaps are created suspended and resumed once all
 *    exist, so a crash between the steps is finished by the re-delivered command; a run refused
 *    for good after its Job was created has that Job deleted while it is still suspended.
 * "Created" and later facts are published by the JobWatcher from what the informers see; this
 * handler publishes only what no Job will show: rejections and cancellations.
 */
export class LaunchHandler {
  constructor(private readonly options: LaunchHandlerOptions) {}

  /** Thrown: retriable errors (Kubernetes or Kafka unavailable) to retry; LaunchRefusedError and DecodeError to dead-letter. */
  async handle(record: LaunchRecord): Promise<void> {
    if (record.value === null) return; // tombstones carry no command
    const { command, unknown } = this.decode(record.value, record.headers);
    if (command.launch) {
      await this.launch(command.launch, unknown);
    } else if (command.cancel) {
      await this.cancel(command.cancel, unknown);
    } else {
      throw new LaunchRefusedError('launch command has neither launch nor cancel', unknown);
    }
  }

  private decode(value: Buffer, headers: LaunchRecord['headers']): { command: LaunchCommand; unknown: Violation[] } {
    const contentType = contentTypeOf(headers, value);
    const command = decodeMessage(LaunchCommand, 'LaunchCommand', value, contentType);
    if (!this.options.policy.rejectUnknownFields) return { command, unknown: [] };
    if (contentType === ContentTypes.json) {
      // decodeMessage parsed it already, so this parse cannot fail.
      return { command, unknown: unknownJsonFields(JSON.parse(value.toString('utf8'))) };
    }
    // Protobuf names no unknown field; re-encoding drops them, so a shorter result shows some.
    const known = LaunchCommand.encode(command).finish().length;
    if (known < value.length) {
      return { command, unknown: [{ field: '', description: `${value.length - known} bytes of fields this launcher does not know` }] };
    }
    return { command, unknown: [] };
  }

  private async launch(sealed: LaunchRun, unknown: Violation[]): Promise<void> {
    const { policy, logger } = this.options;
    const where = { jobId: sealed.jobId, run: sealed.run };
    const { command, violations: sealViolations } = this.openSecrets(sealed);
    const violations = [...unknown, ...sealViolations, ...validateLaunchRun(command, policy)];
    // Rendered once: the pod-security proof and the create use the same objects.
    const rendered = violations.length === 0 ? renderRun(command, this.options.render) : undefined;
    const template = rendered?.job.spec?.template.spec;
    if (template) violations.push(...restrictedPodViolations(template));
    if (rendered) violations.push(...inputsChunkViolations(rendered, this.options.render));
    if (!rendered || violations.length > 0) {
      logger.warn({ ...where, violations }, 'launch command refused by policy');
      await this.reject(command, RejectReasons.policy, violations);
      throw new LaunchRefusedError('launch command refused', violations, { context: where });
    }
    const created: { uid?: string } = {};
    try {
      await this.create(command, rendered, created);
    } catch (error) {
      if (isRetriable(error) || error instanceof TypeError) throw error;
      const description = error instanceof Error ? error.message : String(error);
      const reason = error instanceof FailedPreconditionError ? RejectReasons.nameConflict : RejectReasons.kubernetes;
      logger.warn({ ...where, err: error }, 'kubernetes refused the run');
      await this.reject(command, reason, [{ field: '', description }]);
      if (created.uid) await this.discardSuspended(command, rendered, created.uid);
      throw new LaunchRefusedError('kubernetes refused the run', [{ field: '', description }], { context: where, cause: error });
    }
  }

  /** The run with its sealed secret values opened; a value that cannot be opened is a violation. */
  private openSecrets(run: LaunchRun): { command: LaunchRun; violations: Violation[] } {
    const spec = run.spec;
    if (!spec || !spec.secrets.some((s) => s.value !== undefined)) return { command: run, violations: [] };
    const violations: Violation[] = [];
    const secrets = spec.secrets.map((s, i) => {
      if (s.value === undefined) return s;
      try {
        return { ...s, value: openSecret(this.options.sealer, s.env, s.value) };
      } catch (error) {
        violations.push({ field: `spec.secrets[${i}].value`, description: (error as Error).message });
        return s;
      }
    });
    return { command: { ...run, spec: { ...spec, secrets } }, violations };
  }

  /** `created.uid`: set once the run's Job exists and is ours (created now or found). */
  private async create(command: LaunchRun, rendered: RenderedRun, created: { uid?: string }): Promise<void> {
    const { workloads, logger } = this.options;
    const namespace = rendered.job.metadata.namespace ?? '';
    const name = rendered.job.metadata.name ?? '';
    const where = { jobId: command.jobId, run: command.run, namespace, job: name };
    let job: KubeJob;
    try {
      job = await workloads.createJob(rendered.job);
      logger.info(where, 'job created');
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      job = await workloads.getJob(namespace, name);
      if (!isOurs(job.metadata, command.jobId, command.run)) {
        throw new FailedPreconditionError(`a Job named ${name} exists and is not this run's`, [], { context: where });
      }
      logger.debug(where, 'job already exists; continuing');
    }
    const uid = job.metadata.uid ?? '';
    created.uid = uid;
    // Every inputs chunk before the resume: no pod starts without its item.
    for (const chunk of rendered.configMaps) {
      const configMap = ownedBy(chunk, { name, uid });
      await this.ensureOwned(
        () => workloads.createConfigMap(configMap),
        () => workloads.getConfigMapMeta(namespace, configMap.metadata.name ?? ''),
        uid,
        `ConfigMap ${configMap.metadata.name}`,
      );
    }
    if (rendered.secret) {
      const secret = ownedBy(rendered.secret, { name, uid });
      await this.ensureOwned(
        () => workloads.createSecret(secret),
        () => workloads.getSecretMeta(namespace, secret.metadata.name ?? ''),
        uid,
        `Secret ${secret.metadata.name}`,
      );
    }
    if (job.spec?.suspend && !job.metadata.deletionTimestamp && !isFinished(job)) {
      await workloads.resumeJob(namespace, name);
      logger.debug(where, 'job resumed');
    }
  }

  /**
   * After a rejection of a run whose Job exists (an owned object was refused): deletes the Job
   * when it is still this run's (same uid and labels) and still suspended, so it does not wait
   * forever; the garbage collector takes the owned objects created so far. A Job resumed or
   * already being deleted is left alone. Retriable errors are thrown (the record is retried,
   * fails the same way and comes back here); others are only logged.
   */
  private async discardSuspended(command: LaunchRun, rendered: RenderedRun, uid: string): Promise<void> {
    const { workloads, logger } = this.options;
    const namespace = rendered.job.metadata.namespace ?? '';
    const name = rendered.job.metadata.name ?? '';
    const where = { jobId: command.jobId, run: command.run, namespace, job: name };
    try {
      const job = await workloads.getJob(namespace, name);
      if (job.metadata.uid !== uid || !isOurs(job.metadata, command.jobId, command.run)) return;
      if (job.spec?.suspend !== true || job.metadata.deletionTimestamp) return;
      // The watcher reports the deletion as cancelled: the annotation gives it this reason.
      await workloads.annotateJob(namespace, name, { [LaunchAnnotations.cancelReason]: 'LaunchRejected' });
      await workloads.deleteJob(namespace, name);
      logger.info(where, 'suspended job of the rejected run deleted');
    } catch (error) {
      if (isNotFound(error)) return;
      if (isRetriable(error)) throw error;
      logger.warn({ ...where, err: error }, 'could not delete the suspended job of the rejected run');
    }
  }

  /** Creates an owned object; AlreadyExists is fine when our Job owns it. */
  private async ensureOwned(
    create: () => Promise<void>,
    read: () => Promise<{ metadata: ObjectMeta }>,
    ownerUid: string,
    what: string,
  ): Promise<void> {
    try {
      await create();
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = await read();
      if (!(existing.metadata.ownerReferences ?? []).some((o) => o.uid === ownerUid)) {
        throw new FailedPreconditionError(`${what} exists and is not owned by this run's Job`);
      }
    }
  }

  private async cancel(command: CancelRun, unknown: Violation[]): Promise<void> {
    const { workloads, logger, policy } = this.options;
    const violations = [...unknown, ...validateCancelRun(command)];
    if (violations.length > 0) throw new LaunchRefusedError('cancel command refused', violations);
    const name = kubeJobName(command.jobId, command.run);
    const reason = command.reason || 'Cancelled';
    const where = { jobId: command.jobId, run: command.run, job: name };
    const job = await this.locate(name, policy.namespaces);
    if (job && isOurs(job.metadata, command.jobId, command.run)) {
      if (isFinished(job)) {
        // Finished before the cancel arrived: the watcher reports how it ended.
        logger.info(where, 'cancel ignored: the run already finished');
        return;
      }
      if (!job.metadata.deletionTimestamp) {
        const namespace = job.metadata.namespace ?? '';
        try {
          // The watcher reports the deletion too; the annotation makes it report this reason.
          await workloads.annotateJob(namespace, name, { [LaunchAnnotations.cancelReason]: reason });
          await workloads.deleteJob(namespace, name);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      logger.info({ ...where, namespace: job.metadata.namespace }, 'job deleted on cancel');
    } else if (job) {
      throw new LaunchRefusedError(`a Job named ${name} exists and is not this run's`, []);
    }
    await this.options.publisher.publish([
      this.observation(command.jobId, command.run, 'cancelled', { cancelled: { reason } }),
    ]);
  }

  /** The run's Job: from the informer cache, else from each allowed namespace. */
  private async locate(name: string, namespaces: readonly string[]): Promise<KubeJob | undefined> {
    for (const namespace of namespaces) {
      const cached = this.options.findCachedJob?.(namespace, name);
      if (cached) return cached;
    }
    for (const namespace of namespaces) {
      try {
        return await this.options.workloads.getJob(namespace, name);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return undefined;
  }

  private async reject(command: LaunchRun, reason: string, violations: Violation[]): Promise<void> {
    // A command that names no valid run cannot be answered; the DLQ record is all there is.
    if (validateCancelRun({ jobId: command.jobId, run: command.run, reason: '' }).length > 0) return;
    await this.options.publisher.publish([
      this.observation(command.jobId, command.run, 'rejected', {
        rejected: { reason, violations: violations.map((v) => ({ field: v.field, description: v.description })) },
      }),
    ]);
  }

  private observation(jobId: string, run: number, fact: string, body: object): KeyedObservation {
    return {
      key: observationKey(jobId, run, fact),
      observation: { jobId, run, observedAt: this.options.now(), source: observationSource, ...body },
    };
  }
}

