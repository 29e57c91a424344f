import { KubeLabels } from '@wharf/contracts';
import {
  ConsumerPipeline,
  createKafka,
  createKubeClient,
  Informer,
  KafkaProducer,
  loadKubeConfig,
  SecretSealer,
  type Component,
  type KubeClient,
  type Logger,
} from '@wharf/platform';
import type { Registry } from 'prom-client';
import type { JobLauncherConfig } from './config';
import type { KubeJob, KubePod } from './kube/kube-objects';
import { KubePodLogs } from './kube/pod-logs';
import { KubeWorkloads } from './kube/workloads';
import { LaunchHandler } from './launch/launch-handler';
import { LaunchTopics } from './launch/launch-topics';
import { ObservationPublisher } from './observations/observation-publisher';
import { JobWatcher, type WatchedCache } from './watch/job-watcher';

export interface JobLauncherParts {
  /** In start order; the Lifecycle stops them in reverse. */
  readonly components: readonly Component[];
  readonly watcher: JobWatcher;
  readonly kube: KubeClient;
}

/**
 * Builds job-launcher's components from its configuration — the wiring main.ts registers with
 * the Lifecycle, shared with the integration tests so they run exactly what production runs.
 *
 * Start order: topics → producer → watcher (subscribes) → informers (first list reaches the
 * watcher) → consumer (intake last, so it stops first and the producer flushes last).
 */
export function composeJobLauncher(
  config: JobLauncherConfig,
  deps: { readonly logger: Logger; readonly registry?: Registry; readonly now?: () => Date },
): JobLauncherParts {
  const { logger, registry } = deps;
  const now = deps.now ?? ((): Date => new Date());
  const { launcher } = config;
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId ?? 'job-launcher', logger });
  const producer = new KafkaProducer({ kafka, logger, name: 'observations-producer' });
  const kube = createKubeClient({
    kubeConfig: loadKubeConfig({ kubeconfigPath: config.kube.kubeconfig }),
    qps: config.kube.qps,
    burst: config.kube.burst,
    maxConcurrent: launcher.concurrency,
  });
  const labelSelector = `${KubeLabels.managedBy}=${KubeLabels.managedByValue}`;
  const informerOptions = { logger, resyncPeriodMs: launcher.resyncMs, stallTimeoutMs: launcher.watchStallMs };
  const jobInformers = config.policy.namespaces.map(
    (namespace) => new Informer({ ...informerOptions, name: `jobs:${namespace}`, source: kube.listWatch('job', { namespace, labelSelector }) }),
  );
  const podInformers = config.policy.namespaces.map(
    (namespace) => new Informer({ ...informerOptions, name: `pods:${namespace}`, source: kube.listWatch('pod', { namespace, labelSelector }) }),
  );
  const publisher = new ObservationPublisher({
    sender: producer,
    logger,
    runsLimit: launcher.observedRunsLimit,
    topic: launcher.observationsTopic,
  });
  const watcher = new JobWatcher({
    // KubeJob and KubePod are structural subsets of client-node's V1Job and V1Pod.
    jobs: jobInformers as unknown as WatchedCache<KubeJob>[],
    pods: podInformers as unknown as WatchedCache<KubePod>[],
    publisher,
    podLogs: new KubePodLogs(kube),
    logger,
    now,
    concurrency: launcher.publishConcurrency,
  });
  const handler = new LaunchHandler({
    workloads: new KubeWorkloads(kube),
    publisher,
    policy: config.policy,
    render: config.render,
    sealer: config.secrets.sealKeyFile ? SecretSealer.fromFile(config.secrets.sealKeyFile) : undefined,
    logger,
    now,
    findCachedJob: (namespace, name) => watcher.findJob(namespace, name),
  });
  const consumer = new ConsumerPipeline({
    kafka,
    logger,
    groupId: launcher.groupId,
    topics: [launcher.launchTopic],
    dlq: producer,
    registry,
    session: {
      sessionTimeoutMs: launcher.sessionTimeoutMs,
      heartbeatIntervalMs: launcher.heartbeatIntervalMs,
      rebalanceTimeoutMs: launcher.rebalanceTimeoutMs,
    },
    // Records of one job id share a partition (key = job id), so they stay ordered.
    partitionConcurrency: launcher.partitionConcurrency,
    // A backlog arrives as one batch per partition: commit progress during it, so a restart
    // does not handle the whole batch again (each redone record costs a create and a GET).
    commitIntervalMs: launcher.commitIntervalMs,
    handle: (record) => handler.handle(record),
  });
  const topics = new LaunchTopics(kafka, { launch: launcher.launchTopic, observations: launcher.observationsTopic }, launcher.topicPartitions);
  return { components: [topics, producer, watcher, ...jobInformers, ...podInformers, consumer], watcher, kube };
}
