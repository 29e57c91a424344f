import type { Workflow, WorkflowEvent, WorkflowState } from '@wharf/contracts';

export type WorkflowEventListener = (event: WorkflowEvent) => void;

export interface WorkflowStoreOptions {
  /** Events kept per workflow for WatchWorkflow replay. @default 10_000 */
  readonly maxEventsPerWorkflow?: number;
}

/**
 * The committed workflows and their recent events, in memory (the scheduler's view of
 * wharf.workflows.state and wharf.workflow-events). Changed only after a commit, so readers
 * and watchers never see a state that is not durable.
 */
export class WorkflowStore {
  private readonly workflows = new Map<string, Workflow>();
  private readonly events = new Map<string, WorkflowEvent[]>();
  private readonly listeners = new Set<WorkflowEventListener>();

  constructor(private readonly options: WorkflowStoreOptions = {}) {}

  get size(): number {
    return this.workflows.size;
  }

  get(workflowId: string): Workflow | undefined {
    return this.workflows.get(workflowId);
  }

  put(workflow: Workflow): void {
    this.workflows.set(workflow.workflowId, workflow);
  }

  remove(workflowId: string): void {
    this.workflows.delete(workflowId);
    this.events.delete(workflowId);
  }

  /** Unfinished first is not promised: callers sort. */
  list(filter: { readonly tenant: string; readonly states?: readonly WorkflowState[] }): Workflow[] {
    const states = filter.states?.length ? new Set(filter.states) : undefined;
    return [...this.workflows.values()].filter((w) => w.tenant === filter.tenant && (!states || states.has(w.state)));
  }

  all(): IterableIterator<Workflow> {
    return this.workflows.values();
  }

  publish(event: WorkflowEvent): void {
    let history = this.events.get(event.workflowId);
    if (!history) {
      history = [];
      this.events.set(event.workflowId, history);
    }
    const last = history[history.length - 1];
    if (last && last.sequence >= event.sequence) return;
    history.push(event);
    const max = this.options.maxEventsPerWorkflow ?? 10_000;
    if (history.length > max) history.splice(0, history.length - max);
    for (const listener of this.listeners) listener(event);
  }

  /** Events after `afterSequence`; `complete` is false when some were dropped from memory. */
  history(workflowId: string, afterSequence: number): { events: WorkflowEvent[]; complete: boolean } {
    const history = this.events.get(workflowId) ?? [];
    const first = history[0];
    const complete = afterSequence === 0 ? first === undefined || first.sequence <= 1 : first === undefined || first.sequence <= afterSequence + 1;
    return { events: history.filter((e) => e.sequence > afterSequence), complete };
  }

  subscribe(listener: WorkflowEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.workflows.clear();
    this.events.clear();
  }
}
