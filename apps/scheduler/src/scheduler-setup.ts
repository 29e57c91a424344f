/**
 * The named setup steps main.ts composes (and integration tests reuse to run a scheduler
 * in-process). Each builds one part from the frozen config; none holds business logic.
 */
import { S3Client } from '@aws-sdk/client-s3';
import {
  ConsumerGroups,
  JobServiceService,
  Observation,
  QueueServiceService,
  StreamServiceService,
  Topics,
  WorkflowServiceService,
  descriptorSetBase64,
} from '@wharf/contracts';
import {
  adaptService,
  ConsumerPipeline,
  createKafka,
  createKubeClient,
  GrpcServer,
  KafkaProducer,
  LeaderElector,
  loadKubeConfig,
  NotLeaderError,
  SecretSealer,
  tokenAuthenticator,
  type Authenticator,
  type Component,
  type KafkaClient,
  type KubeClient,
  type Logger,
  type ServiceHandlers,
} from '@wharf/platform';
import { defaultDefinitionDefaults, type DefinitionDefaults } from '@wharf/streams';
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { commandHandler } from './api/command-handler';
import { jobServiceHandlers } from './api/job-service';
import { queueServiceHandlers } from './api/queue-service';
import { parseTokenTable } from './api/token-table';
import { decodeStreamStatus, KafkaStreamLog, StreamRegistry } from './api/stream-registry';
import { streamServiceHandlers } from './api/stream-service';
import { workflowServiceHandlers, type WorkflowPreflight } from './api/workflow-service';
import type { SchedulerConfig } from './config';
import { clusterLimits, type Limits } from './domain/queue-config';
import { JobEngine } from './engine/job-engine';
import { Leadership, SoleLeader, type LeaderElection } from './engine/leadership';
import { observationHandler } from './engine/observation-handler';
import { ArchiveReader } from './logs/archive-reader';
import { KubeLiveLogs } from './logs/kube-live-logs';
import { EventHub } from './state/event-hub';
import { JobStore } from './state/job-store';
import { KafkaStateLog } from './state/kafka-state-log';
import { WorkflowStore } from './state/workflow-store';
import { preflightWorkflow } from './workflows/kube-preflight';

/** The scheduler's consumer group on wharf.streams.status (with the namespace prefix). */
const STREAMS_STATUS_GROUP = 'wharf.scheduler.streams-status';

export interface Scheduler {
  /** In start order; the lifecycle stops them in reverse. */
  readonly components: readonly Component[];
  readonly grpc: GrpcServer;
  readonly engine: JobEngine;
  readonly leadership: Leadership;
  readonly store: JobStore;
  readonly workflows: WorkflowStore;
  readonly streams: StreamRegistry;
}

export function authenticatorFrom(config: SchedulerConfig): Authenticator {
  if (config.auth.tokensFile === '') {
    throw new Error('auth.tokensFile is required (WHARF_AUTH_TOKENS_FILE): a YAML file of tenants and their tokens');
  }
  return tokenAuthenticator(parseTokenTable(readFileSync(config.auth.tokensFile, 'utf8'), config.auth.tokensFile));
}

/** The sealer of inline secret values, or undefined (with a warning) when no key is configured. */
export function sealerFrom(config: SchedulerConfig, logger: Logger): SecretSealer | undefined {
  if (config.secrets.sealKeyFile === '') {
    logger.warn('secrets.sealKeyFile is not set: inline secret values and stream credentials are stored in Kafka unsealed, readable by anyone who can read wharf.jobs.state, wharf.launch and wharf.streams');
    return undefined;
  }
  const sealer = SecretSealer.fromFile(config.secrets.sealKeyFile);
  logger.info({ keyId: sealer.keyId }, 'inline secret values are sealed');
  return sealer;
}

export function capacityFrom(config: SchedulerConfig): Limits {
  return clusterLimits(config.capacity, config.queues);
}

function kubeFrom(config: SchedulerConfig): KubeClient | undefined {
  if (config.leader.election !== 'lease' && !config.kube.kubeconfig) return undefined;
  const kubeConfig = loadKubeConfig({ kubeconfigPath: config.kube.kubeconfig });
  return createKubeClient({ kubeConfig, qps: config.kube.qps, burst: config.kube.burst });
}

/** Workflow preflight against the cluster: the objects a workflow names, and a dry-run of its Jobs. */
function kubePreflight(kube: KubeClient): WorkflowPreflight {
  return async (workflowId, spec) => {
    const error = await preflightWorkflow(kube, workflowId, spec);
    if (error) throw error;
  };
}

function archiveFrom(config: SchedulerConfig): ArchiveReader {
  const a = config.archive;
  const s3 = a.s3Endpoint
    ? new S3Client({
        endpoint: a.s3Endpoint,
        region: a.s3Region,
        forcePathStyle: a.s3ForcePathStyle,
        credentials: a.s3AccessKeyId && a.s3SecretAccessKey ? { accessKeyId: a.s3AccessKeyId, secretAccessKey: a.s3SecretAccessKey } : undefined,
      })
    : undefined;
  return new ArchiveReader(s3);
}

/** The caps stream specs are validated against (stream-ingest's limits.*). */
function streamDefaults(config: SchedulerConfig): DefinitionDefaults {
  const { maxInFlightRecordsCap, maxInFlightBytesCap } = config.streams;
  return {
    maxInFlightRecords: Math.min(defaultDefinitionDefaults.maxInFlightRecords, maxInFlightRecordsCap),
    maxInFlightBytes: Math.min(defaultDefinitionDefaults.maxInFlightBytes, maxInFlightBytesCap),
    maxInFlightRecordsCap,
    maxInFlightBytesCap,
  };
}

/** Every RPC of a standby answers UNAVAILABLE (after authentication), so clients go to the leader. */
function leaderOnly<D>(handlers: ServiceHandlers<D>, leadership: Leadership): ServiceHandlers<D> {
  const guarded: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(handlers as Record<string, (...args: unknown[]) => Promise<unknown>>)) {
    guarded[name] = (...args: unknown[]) => {
      if (!leadership.isLeading()) {
        return Promise.reject(new NotLeaderError('this scheduler is a standby; retry against the leader'));
      }
      return handler(...args);
    };
  }
  return guarded as ServiceHandlers<D>;
}

export interface SchedulerDeps {
  readonly config: SchedulerConfig;
  readonly logger: Logger;
  readonly registry?: Registry;
  readonly now?: () => Date;
  /** Called when a newer writer fenced this one (main exits; a fresh process rejoins as standby). */
  readonly onFenced?: () => void;
  /** Replaces the Kubernetes preflight of workflows (tests). */
  readonly preflight?: WorkflowPreflight;
}

export function buildScheduler(deps: SchedulerDeps): Scheduler {
  const { config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const authenticate = authenticatorFrom(config);
  const capacity = capacityFrom(config);
  const kafka: KafkaClient = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId ?? 'scheduler', logger });
  const kube = kubeFrom(config);
  const ns = (name: string): string => (config.state.namespace ? `${config.state.namespace}.${name}` : name);
  const store = new JobStore();
  const hub = new EventHub();
  const workflows = new WorkflowStore({ maxEventsPerWorkflow: config.watch.maxBufferedEvents });
  const fence = { onFenced: (): void => undefined };
  const sealer = sealerFrom(config, logger);
  const engine = new JobEngine({
    store,
    hub,
    log: new KafkaStateLog({
      // Its own client whose kafkajs logs are quiet: the broker answers CONCURRENT_TRANSACTIONS
      // for a few ms after every commit, which kafkajs logs as an error before retrying. Our own
      // log lines report commit failures and fencing.
      kafka: createKafka({
        brokers: config.kafka.brokers,
        clientId: `${config.kafka.clientId ?? 'scheduler'}-state`,
        logger: logger.child({ component: 'state-log' }, { level: 'fatal' }),
      }),
      logger,
      transactionalId: ns(config.state.transactionalId),
      partitions: config.state.partitions,
      topics: {
        state: ns(Topics.jobsState),
        events: ns(Topics.jobEvents),
        launch: ns(Topics.launch),
        workflows: ns(Topics.workflowsState),
        workflowEvents: ns(Topics.workflowEvents),
      },
      otherTopics: [ns(Topics.commands), ns(Topics.replies), ns(Topics.observations)],
    }),
    logger,
    now,
    queues: config.queues,
    capacity,
    specLimits: config.limits,
    maxBatch: config.state.maxBatch,
    maxAdmissionsPerCycle: config.admission.maxPerCycle,
    retentionMs: config.retention.finishedJobsMs,
    restoreEvents: config.state.restoreEvents,
    onFenced: () => fence.onFenced(),
    workflows,
    sealer,
  });
  const replies = new KafkaProducer({ kafka, logger, name: 'replies-producer' });
  const streamsTopic = config.streams.topic || ns(Topics.streams);
  const streamsStatusTopic = config.streams.statusTopic || ns(Topics.streamsStatus);
  // Loaded while leading (wharf.streams read to its end, in the background); written with the
  // replies producer (acks=all, idempotent).
  const streams = new StreamRegistry({
    log: new KafkaStreamLog({ kafka, producer: replies, logger, topic: streamsTopic, statusTopic: streamsStatusTopic, partitions: config.streams.partitions }),
    logger: logger.child({ component: 'stream-registry' }),
    defaults: streamDefaults(config),
    sealer,
  });
  const preflight: WorkflowPreflight | undefined = deps.preflight ?? (kube ? kubePreflight(kube) : undefined);
  const leadership = new Leadership({
    engine,
    logger,
    admissionIntervalMs: config.admission.intervalMs,
    expiryIntervalMs: config.retention.sweepIntervalMs,
    leaderComponents: () => [
      streams,
      new ConsumerPipeline<Observation>({
        kafka,
        logger,
        groupId: ns(ConsumerGroups.schedulerObservations),
        topics: [ns(Topics.observations)],
        message: { type: Observation, name: 'Observation' },
        handle: observationHandler(engine),
        dlq: replies,
        registry: deps.registry,
        session: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 },
      }),
      new ConsumerPipeline({
        kafka,
        logger,
        groupId: ns(ConsumerGroups.schedulerCommands),
        topics: [ns(Topics.commands)],
        handle: commandHandler({ engine, store, preflight, streams, authenticate, replies, logger, repliesTopic: ns(Topics.replies) }),
        dlq: replies,
        registry: deps.registry,
        session: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 },
      }),
      // The latest status per stream, as stream-ingest reports it (every few seconds per stream).
      new ConsumerPipeline({
        kafka,
        logger,
        groupId: ns(STREAMS_STATUS_GROUP),
        topics: [streamsStatusTopic],
        handle: async (record) => {
          const status = decodeStreamStatus(record.value, record.headers);
          if (status) streams.observeStatus(status);
        },
        dlq: replies,
        registry: deps.registry,
        session: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 },
      }),
    ],
  });
  const lead = leadership;
  fence.onFenced = () => {
    lead.fenced();
    deps.onFenced?.();
  };
  const election: LeaderElection =
    config.leader.election === 'lease' && kube
      ? new LeaderElector({
          kube,
          logger,
          namespace: config.leader.namespace,
          leaseName: config.leader.leaseName,
          identity: config.leader.identity,
          leaseDurationMs: config.leader.leaseDurationMs,
          renewDeadlineMs: config.leader.renewDeadlineMs,
          retryPeriodMs: config.leader.retryPeriodMs,
          onStartedLeading: () => lead.startedLeading(),
          onStoppedLeading: () => lead.stoppedLeading(),
        })
      : new SoleLeader(() => lead.startedLeading());

  const adapt = { authenticate, logger };
  const grpc = new GrpcServer({
    host: config.grpc.host,
    port: config.grpc.port,
    logger,
    descriptorSetBase64,
    tls:
      config.grpc.tlsCertFile && config.grpc.tlsKeyFile
        ? { certFile: config.grpc.tlsCertFile, keyFile: config.grpc.tlsKeyFile, clientCaFile: config.grpc.tlsClientCaFile }
        : undefined,
    services: [
      {
        definition: JobServiceService,
        implementation: adaptService(
          JobServiceService,
          leaderOnly(
            jobServiceHandlers({
              engine,
              store,
              hub,
              capacity,
              now,
              heartbeatMs: config.watch.heartbeatMs,
              maxBufferedEvents: config.watch.maxBufferedEvents,
              liveLogs: kube ? new KubeLiveLogs(kube) : undefined,
              archivedLogs: archiveFrom(config),
            }),
            lead,
          ),
          adapt,
        ),
      },
      {
        definition: QueueServiceService,
        implementation: adaptService(QueueServiceService, leaderOnly(queueServiceHandlers({ queues: config.queues, store, capacity }), lead), adapt),
      },
      {
        definition: WorkflowServiceService,
        implementation: adaptService(
          WorkflowServiceService,
          leaderOnly(
            workflowServiceHandlers({
              engine,
              workflows,
              now,
              preflight,
              heartbeatMs: config.watch.heartbeatMs,
              maxBufferedEvents: config.watch.maxBufferedEvents,
            }),
            lead,
          ),
          adapt,
        ),
      },
      {
        definition: StreamServiceService,
        implementation: adaptService(StreamServiceService, leaderOnly(streamServiceHandlers(streams), lead), adapt),
      },
    ],
  });
  return { components: [replies, lead, election, grpc], grpc, engine, leadership: lead, store, workflows, streams };
}
