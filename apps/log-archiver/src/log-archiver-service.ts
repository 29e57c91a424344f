import { hostname } from 'node:os';
import { KubeLabels, Topics } from '@wharf/contracts';
import {
  createKafka,
  ensureTopics,
  createKubeClient,
  Informer,
  KafkaProducer,
  LeaderElector,
  loadKubeConfig,
  type Component,
  type KafkaClient,
  type KubeClient,
  type Logger,
  type V1Job,
} from '@wharf/platform';
import { Registry } from 'prom-client';
import { createArchiveStore } from './archive/archive-store-factory';
import type { ArchiveStore } from './archive/archive-store';
import { ObjectLayout } from './archive/object-layout';
import type { LogArchiverConfig } from './config';
import { ArchiveController, type JobSource } from './controller/archive-controller';
import { ArchiveProcedure } from './controller/archive-procedure';
import { ArchiverMetrics } from './controller/archiver-metrics';
import { StreamSlots } from './controller/stream-slots';
import { KafkaObservationSink, KubeJobsAdapter, KubePodsAdapter, KubeSecretsAdapter } from './kube/kube-adapters';
import type { JobLike } from './kube/kube-objects';

export interface LogArchiverParts {
  /** In start order; the Lifecycle stops them in reverse (informers first, producer last). */
  readonly components: readonly Component[];
  readonly controller: ArchiveController;
  readonly store: ArchiveStore;
  readonly kube: KubeClient;
  readonly elector?: LeaderElector;
}

/**
 * Builds log-archiver's components from its configuration — the wiring main.ts registers
 * with the Lifecycle, shared with the integration tests so they run what production runs.
 */
export function composeLogArchiver(
  config: LogArchiverConfig,
  deps: { readonly logger: Logger; readonly registry?: Registry; readonly now?: () => Date },
): LogArchiverParts {
  const { logger } = deps;
  const now = deps.now ?? ((): Date => new Date());
  const { archiver, archive } = config;
  const store = createArchiveStore(archive);
  if (store.kind === 'unconfigured') logger.error({ store: archive.store }, 'archive store is not configured; finalizers will be held');

  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId ?? 'log-archiver', logger });
  const producer = new KafkaProducer({ kafka, logger, name: 'observations-producer' });
  const kube = createKubeClient({
    kubeConfig: loadKubeConfig({ kubeconfigPath: config.kube.kubeconfig }),
    qps: config.kube.qps,
    burst: config.kube.burst,
    maxConcurrent: Math.max(10, archive.maxStreams + archiver.workers + 4),
  });
  const labelSelector = `${KubeLabels.managedBy}=${KubeLabels.managedByValue}`;
  const namespaces: (string | undefined)[] = archiver.namespaces.length > 0 ? [...archiver.namespaces] : [undefined];
  const informers = namespaces.map(
    (namespace) =>
      new Informer<V1Job>({
        logger,
        name: `jobs:${namespace ?? '*'}`,
        resyncPeriodMs: archiver.resyncMs,
        stallTimeoutMs: archiver.watchStallMs,
        source: kube.listWatch('job', { ...(namespace ? { namespace } : {}), labelSelector }),
      }),
  );
  const source: JobSource = {
    list: () => informers.flatMap((i) => i.list() as JobLike[]),
    subscribe: (handlers) => {
      const offs = informers.map((i) => i.subscribe(handlers as Parameters<typeof i.subscribe>[0]));
      return () => offs.forEach((off) => off());
    },
  };

  const metrics = new ArchiverMetrics(deps.registry ?? new Registry());
  const jobs = new KubeJobsAdapter(kube);
  const pods = new KubePodsAdapter(kube);
  const procedure = new ArchiveProcedure({
    store,
    layout: new ObjectLayout(archive.prefix),
    jobs,
    pods,
    secrets: new KubeSecretsAdapter(kube),
    observations: new KafkaObservationSink(producer),
    clock: now,
    logger,
    options: {
      logConcurrency: archive.logConcurrency,
      deleteJob: archiver.deleteJob,
      redact: archiver.redact,
      minSecretLength: archiver.minSecretLength,
    },
    streamSlots: new StreamSlots(archive.maxStreams),
    onLogArchived: (object) => {
      metrics.logsArchived.inc();
      metrics.bytesArchived.inc(object.bytes);
    },
  });

  let controller: ArchiveController | undefined = undefined;
  const le = config.leaderElection;
  const elector = le.enabled
    ? new LeaderElector({
        kube,
        logger,
        namespace: le.namespace,
        leaseName: le.leaseName,
        identity: le.identity ?? `${hostname()}-${process.pid}`,
        leaseDurationMs: le.leaseDurationMs,
        onStartedLeading: () => controller?.takeOver(),
      })
    : undefined;
  controller = new ArchiveController({
    source,
    jobs,
    procedure,
    ...(elector ? { leadership: elector } : {}),
    retry: {
      minDelayMs: archiver.retryMinDelayMs,
      maxDelayMs: archiver.retryMaxDelayMs,
      deadlineMs: archiver.deadlineMs,
      onDeadline: archiver.onDeadline,
    },
    workers: archiver.workers,
    deleteJob: archiver.deleteJob,
    clock: now,
    logger,
    metrics,
  });
  return {
    components: [new ObservationsTopic(kafka, archiver.topicPartitions), producer, ...(elector ? [elector] : []), controller, ...informers],
    controller,
    store,
    kube,
    ...(elector ? { elector } : {}),
  };
}

/** Creates wharf.observations if it does not exist yet (idempotent; job-launcher does the same). */
class ObservationsTopic implements Component {
  readonly name = 'observations-topic';
  constructor(
    private readonly kafka: KafkaClient,
    private readonly partitions: number,
  ) {}

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await ensureTopics(admin, [{ topic: Topics.observations, partitions: this.partitions }]);
    } finally {
      await admin.disconnect();
    }
  }
}
