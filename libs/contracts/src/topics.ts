/**
 * Wire-level names. Topics, consumer groups, header names and Kubernetes labels are part of
 * Wharf's contract with running deployments: renaming one needs a migration.
 */

/** Kafka topics, with the record key each one is partitioned by. */
export const Topics = {
  /** Key: command id. Value: Command (JSON or protobuf by content-type). */
  commands: 'wharf.commands',
  /** Key: command id. Value: Reply. */
  replies: 'wharf.replies',
  /** Key: job id. Value: JobRecord; a null value (tombstone) removes the job. Compacted. */
  jobsState: 'wharf.jobs.state',
  /** Key: job id. Value: JobEvent, ordered per job by sequence. */
  jobEvents: 'wharf.job-events',
  /** Key: workflow id. Value: Workflow; tombstones remove it. Compacted. */
  workflowsState: 'wharf.workflows.state',
  /** Key: workflow id. Value: WorkflowEvent. */
  workflowEvents: 'wharf.workflow-events',
  /** Key: job id. Value: LaunchCommand. */
  launch: 'wharf.launch',
  /** Key: job id. Value: Observation. */
  observations: 'wharf.observations',
  /** Key: stream id. Value: StreamSpec; tombstones delete the stream. Compacted. */
  streams: 'wharf.streams',
  /** Key: stream id. Value: StreamStatus. */
  streamsStatus: 'wharf.streams.status',
} as const;
export type TopicName = (typeof Topics)[keyof typeof Topics];

/** Poison records of `topic` are parked here, same key, with the error in headers. */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Topics whose value is the latest state of a key, so Kafka keeps only the newest record. */
export const CompactedTopics: readonly string[] = [
  Topics.jobsState,
  Topics.workflowsState,
  Topics.streams,
];

export const ConsumerGroups = {
  schedulerCommands: 'wharf.scheduler.commands',
  schedulerObservations: 'wharf.scheduler.observations',
  jobLauncher: 'wharf.job-launcher',
  streamIngest: 'wharf.stream-ingest',
} as const;

/** Kafka record headers. */
export const RecordHeaders = {
  /** `application/json` (proto3 JSON mapping) or `application/x-protobuf`. */
  contentType: 'content-type',
  /** On DLQ records: the error message, its class, and where the record came from. */
  error: 'wharf-error',
  errorType: 'wharf-error-type',
  originalTopic: 'wharf-original-topic',
  originalPartition: 'wharf-original-partition',
  originalOffset: 'wharf-original-offset',
} as const;

export const ContentTypes = {
  json: 'application/json',
  protobuf: 'application/x-protobuf',
} as const;
export type ContentType = (typeof ContentTypes)[keyof typeof ContentTypes];

/** Labels and annotations on every Kubernetes object Wharf creates. */
export const KubeLabels = {
  managedBy: 'app.kubernetes.io/managed-by',
  managedByValue: 'wharf',
  jobId: 'wharf.dev/job-id',
  run: 'wharf.dev/run',
  workflowId: 'wharf.dev/workflow-id',
  task: 'wharf.dev/task',
} as const;

/** The log-archiver finalizer job-launcher puts on every Job. */
export const ArchiveFinalizer = 'wharf.dev/archive-logs';
