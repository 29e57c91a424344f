import type { ContentType, JobEvent, JobRecord, LaunchCommand, Workflow, WorkflowEvent } from '@wharf/contracts';

/** Where an event landed on wharf.job-events; the basis of WatchJobs resume tokens. */
export interface EventPosition {
  readonly partition: number;
  readonly offset: string;
}

/** What one commit writes, atomically. */
export interface CommitBatch {
  /** The newest record of each changed job; null removes the job (a tombstone). */
  readonly records: readonly { readonly jobId: string; readonly record: JobRecord | null }[];
  /** In order; per job by sequence. */
  readonly events: readonly JobEvent[];
  readonly commands: readonly { readonly jobId: string; readonly command: LaunchCommand }[];
  /** The newest record of each changed workflow; null removes it. */
  readonly workflows?: readonly { readonly workflowId: string; readonly record: Workflow | null }[];
  /** In order; per workflow by sequence. */
  readonly workflowEvents?: readonly WorkflowEvent[];
}

/**
 * The durable side of the scheduler: the wharf.jobs.state and wharf.workflows.state changelogs,
 * wharf.job-events, wharf.workflow-events and wharf.launch, written together or not at all by
 * the single writer (so a task's job and its workflow's record never disagree).
 */
export interface StateLog {
  /** Takes the writer role, fencing any older writer. Thrown: UnavailableError. */
  open(): Promise<void>;
  /**
   * Writes a batch atomically and durably (acks=all, one transaction). Resolves with the
   * position of each event, in batch order.
   *
   * Thrown: NotLeaderError when a newer writer fenced this one (for good); a retriable
   * UnavailableError when Kafka could not be reached (nothing of the batch is visible).
   */
  commit(batch: CommitBatch): Promise<EventPosition[]>;
  /** Reads the changelog to its current end: the newest record (or null) per job. */
  readRecords(onRecord: (jobId: string, record: JobRecord | null) => void): Promise<number>;
  /**
   * Like readRecords, but hands over each record's bytes undecoded (null: a tombstone), so a
   * restore decodes only what it needs (JobStore.putEncoded). Optional: without it, readRecords.
   */
  readEncodedRecords?(onRecord: (jobId: string, encoded: { readonly bytes: Uint8Array; readonly contentType: ContentType } | null) => void): Promise<number>;
  /** Reads wharf.job-events to its current end. */
  readEvents(onEvent: (event: JobEvent, position: EventPosition) => void): Promise<number>;
  /** Reads the workflow changelog to its current end: the newest record (or null) per workflow. */
  readWorkflows(onRecord: (workflowId: string, record: Workflow | null) => void): Promise<number>;
  /** Reads wharf.workflow-events to its current end. */
  readWorkflowEvents(onEvent: (event: WorkflowEvent) => void): Promise<number>;
  close(): Promise<void>;
}
