import { ContentTypes, encodeMessage, JobRecord, type ContentType, type JobEvent, type Workflow, type WorkflowEvent } from '@wharf/contracts';
import { NotLeaderError } from '@wharf/platform';
import type { CommitBatch, EventPosition, StateLog } from './state-log';

/**
 * A StateLog in memory, shared by "instances" like a Kafka cluster: for unit tests of the
 * engine and the API, and a way to run the scheduler without Kafka in a demo. Opening fences
 * every earlier opener, as a transactional id does.
 */
export class MemoryKafka {
  readonly records = new Map<string, JobRecord | null>();
  readonly events: { event: JobEvent; position: EventPosition }[] = [];
  readonly commands: CommitBatch['commands'][number][] = [];
  readonly workflows = new Map<string, Workflow | null>();
  readonly workflowEvents: WorkflowEvent[] = [];
  epoch = 0;
  /** Set to make the next commits fail (e.g. an UnavailableError). */
  failWith: unknown;
}

export class MemoryStateLog implements StateLog {
  private epoch = -1;
  constructor(readonly cluster: MemoryKafka = new MemoryKafka()) {}

  async open(): Promise<void> {
    this.epoch = ++this.cluster.epoch;
  }

  async commit(batch: CommitBatch): Promise<EventPosition[]> {
    if (this.epoch !== this.cluster.epoch) throw new NotLeaderError('fenced');
    if (this.cluster.failWith) throw this.cluster.failWith;
    for (const { jobId, record } of batch.records) this.cluster.records.set(jobId, record);
    const positions = batch.events.map((event) => {
      const position = { partition: 0, offset: String(this.cluster.events.length) };
      this.cluster.events.push({ event, position });
      return position;
    });
    this.cluster.commands.push(...batch.commands);
    for (const { workflowId, record } of batch.workflows ?? []) this.cluster.workflows.set(workflowId, record);
    this.cluster.workflowEvents.push(...(batch.workflowEvents ?? []));
    return positions;
  }

  async readRecords(onRecord: (jobId: string, record: JobRecord | null) => void): Promise<number> {
    for (const [jobId, record] of this.cluster.records) onRecord(jobId, record);
    return this.cluster.records.size;
  }

  /** The records encoded as the Kafka state log stores them (protobuf), for restores that decode lazily. */
  async readEncodedRecords(onRecord: (jobId: string, encoded: { bytes: Uint8Array; contentType: ContentType } | null) => void): Promise<number> {
    for (const [jobId, record] of this.cluster.records) {
      onRecord(jobId, record ? { bytes: encodeMessage(JobRecord, record), contentType: ContentTypes.protobuf } : null);
    }
    return this.cluster.records.size;
  }

  async readEvents(onEvent: (event: JobEvent, position: EventPosition) => void): Promise<number> {
    for (const { event, position } of this.cluster.events) onEvent(event, position);
    return this.cluster.events.length;
  }

  async readWorkflows(onRecord: (workflowId: string, record: Workflow | null) => void): Promise<number> {
    for (const [workflowId, record] of this.cluster.workflows) onRecord(workflowId, record);
    return this.cluster.workflows.size;
  }

  async readWorkflowEvents(onEvent: (event: WorkflowEvent) => void): Promise<number> {
    for (const event of this.cluster.workflowEvents) onEvent(event);
    return this.cluster.workflowEvents.length;
  }

  async close(): Promise<void> {
    this.epoch = -1;
  }
}
