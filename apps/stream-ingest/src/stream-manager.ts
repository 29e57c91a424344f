import type { StreamSpec } from '@wharf/contracts';
import { describeError, InvalidArgumentError, type Component, type Logger, type SecretSealer } from '@wharf/platform';
import { openStreamSecrets } from '@wharf/streams';
import type { Clock } from '@wharf/platform';
import type { DesiredStateSink, RecordSink, TopicEnsurer } from './ports';
import { toStreamDefinition, type DefinitionDefaults, type StreamDefinition } from './stream-definition';
import { planStreams, type ActualStream, type DesiredStream, type StreamAction } from './stream-planner';
import { emptyCounters, StreamRunner, type BatchingOptions, type StreamCounters } from './stream-runner';
import type { StreamSource } from './stream-source';

/** What a stream remembers across its restarts on this replica (an update, a pause). */
export interface SourceMemory {
  /** SSE: the last event id the sink acknowledged. */
  lastEventId?: string;
  /** Generator: the next record number. */
  generatorNext?: number;
}

/** Builds a source for a definition; `memory` is read at start and updated at stop. */
export type SourceFactory = (definition: StreamDefinition, memory: SourceMemory) => StreamSource;

/** A stream on this replica, as status and metrics see it. */
export interface ManagedStream {
  readonly id: string;
  readonly tenant: string;
  readonly generation: number;
  readonly state: 'running' | 'paused' | 'failed';
  readonly counters: StreamCounters;
  readonly startedAt: number;
  readonly inFlight: number;
  readonly lag: number;
}

interface StreamSlot {
  id: string;
  tenant: string;
  generation: number;
  state: 'running' | 'paused' | 'failed';
  failedAt?: number;
  startedAt: number;
  counters: StreamCounters;
  memory: SourceMemory;
  runner?: StreamRunner;
  source?: StreamSource;
}

export interface StreamManagerOptions {
  readonly sink: RecordSink;
  readonly topics: TopicEnsurer;
  readonly createSource: SourceFactory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly defaults: DefinitionDefaults;
  /** Opens the credentials the scheduler sealed (none: a sealed credential fails its stream). */
  readonly sealer?: SecretSealer;
  readonly batching: BatchingOptions;
  /** Partitions of the sink and DLQ topics created for a stream. */
  readonly topicPartitions: number;
  /** How long a stopping stream waits for its in-flight records. */
  readonly stopDrainMs: number;
  /** @default 10_000 */
  readonly retryFailedAfterMs?: number;
  /**
   * Called after a stream changed state (started, paused, failed) or left this replica
   * (`stream` undefined; `deleted` tells a deletion from a move to another replica).
   */
  readonly onChange?: (id: string, stream: ManagedStream | undefined, deleted: boolean) => void;
}

/**
 * Runs the streams this replica owns. Desired state comes in through {@link upsert},
 * {@link remove} and {@link retainPartitions} (from the wharf.streams consumer or the
 * standalone config); every change triggers a reconcile: a pure plan
 * ({@link planStreams}) applied one action at a time, so a stream is never started twice or
 * stopped while it starts. Stopping a stream stops its source first, then drains its runner
 * (up to stopDrainMs), so nothing is acknowledged to a source that Kafka did not take.
 */
export class StreamManager implements Component, DesiredStateSink {
  readonly name = 'stream-manager';
  private readonly desired = new Map<string, { entry: DesiredStream; partition: number | undefined }>();
  private readonly slots = new Map<string, StreamSlot>();
  private readonly deleted = new Set<string>();
  private reconciling: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private cancelTick: (() => void) | undefined;

  constructor(private readonly options: StreamManagerOptions) {}

  async start(): Promise<void> {
    this.tick();
  }

  /** Stops every stream (sources first, then drains), in parallel. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTick?.();
    await this.reconciling;
    await Promise.all([...this.slots.values()].map((slot) => this.stopSlot(slot)));
    this.slots.clear();
  }

  /** A stream spec was written (or replayed). Older generations than the one known are ignored. */
  upsert(spec: StreamSpec, partition?: number): void {
    const generation = Number(spec.generation);
    const known = this.desired.get(spec.streamId);
    if (known && generationOf(known.entry) > generation) return;
    let entry: DesiredStream;
    try {
      entry = { kind: 'valid', definition: toStreamDefinition(openStreamSecrets(spec, this.options.sealer), this.options.defaults) };
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      entry = { kind: 'invalid', id: spec.streamId, generation, error: error.message };
      this.options.logger.warn({ streamId: spec.streamId, err: error.message }, 'stream spec rejected');
    }
    this.desired.set(spec.streamId, { entry, partition });
    this.requestReconcile();
  }

  /** A spec record for `id` could not be read: the stream is reported failed with `error`. */
  reject(id: string, error: string, partition?: number): void {
    const known = this.desired.get(id);
    const generation = known ? generationOf(known.entry) : -1;
    this.desired.set(id, { entry: { kind: 'invalid', id, generation, error }, partition });
    this.options.logger.warn({ streamId: id, err: error }, 'stream spec rejected');
    this.requestReconcile();
  }

  /** A stream was deleted (a tombstone). */
  remove(id: string): void {
    if (!this.desired.delete(id)) return;
    this.deleted.add(id);
    this.requestReconcile();
  }

  /** This replica now owns only these partitions of wharf.streams: forget the others' streams. */
  retainPartitions(partitions: ReadonlySet<number>): void {
    let changed = false;
    for (const [id, { partition }] of this.desired) {
      if (partition !== undefined && !partitions.has(partition)) {
        this.desired.delete(id);
        changed = true;
      }
    }
    if (changed) this.requestReconcile();
  }

  /** Resolves once the current desired state has been applied. */
  async settled(): Promise<void> {
    while (this.reconciling) await this.reconciling;
  }

  streams(): ManagedStream[] {
    return [...this.slots.values()].map((slot) => this.view(slot));
  }

  stream(id: string): ManagedStream | undefined {
    const slot = this.slots.get(id);
    return slot ? this.view(slot) : undefined;
  }

  private view(slot: StreamSlot): ManagedStream {
    return {
      id: slot.id,
      tenant: slot.tenant,
      generation: slot.generation,
      state: slot.state,
      counters: slot.counters,
      startedAt: slot.startedAt,
      inFlight: slot.runner?.inFlight ?? 0,
      lag: slot.source?.lag?.() ?? 0,
    };
  }

  private tick(): void {
    if (this.stopped) return;
    this.cancelTick = this.options.clock.setTimer(() => {
      this.requestReconcile();
      this.tick();
    }, Math.max(1_000, (this.options.retryFailedAfterMs ?? 10_000) / 2));
  }

  private requestReconcile(): void {
    this.dirty = true;
    if (this.reconciling || this.stopped) return;
    this.reconciling = this.reconcileLoop().finally(() => {
      this.reconciling = undefined;
    });
  }

  private async reconcileLoop(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      const desired = new Map([...this.desired].map(([id, { entry }]) => [id, entry]));
      const actual = new Map<string, ActualStream>(
        [...this.slots].map(([id, s]) => [id, { generation: s.generation, state: s.state, failedAt: s.failedAt }]),
      );
      const actions = planStreams(desired, actual, {
        now: this.options.clock.now(),
        retryFailedAfterMs: this.options.retryFailedAfterMs ?? 10_000,
      });
      for (const action of actions) {
        if (this.stopped) return;
        try {
          await this.apply(action);
        } catch (error) {
          this.options.logger.error({ err: describeError(error), action: action.type }, 'stream action failed');
        }
      }
    }
  }

  private async apply(action: StreamAction): Promise<void> {
    const { logger } = this.options;
    switch (action.type) {
      case 'remove': {
        const slot = this.slots.get(action.id);
        if (!slot) return;
        await this.stopSlot(slot);
        this.slots.delete(action.id);
        logger.info({ streamId: action.id }, 'stream removed from this replica');
        this.options.onChange?.(action.id, undefined, this.deleted.delete(action.id));
        return;
      }
      case 'fail': {
        const slot = this.slotFor(action.id, '', action.generation);
        await this.stopSlot(slot);
        slot.state = 'failed';
        slot.failedAt = this.options.clock.now();
        slot.counters.lastError = action.error.slice(0, 1024);
        this.changed(slot);
        return;
      }
      case 'pause': {
        const slot = this.slotFor(action.definition.id, action.definition.tenant, action.definition.generation);
        await this.stopSlot(slot);
        slot.state = 'paused';
        logger.info({ streamId: slot.id, generation: slot.generation }, 'stream paused');
        this.changed(slot);
        return;
      }
      case 'start':
      case 'restart': {
        const { definition } = action;
        const slot = this.slotFor(definition.id, definition.tenant, definition.generation);
        await this.stopSlot(slot);
        await this.startSlot(slot, definition);
        return;
      }
    }
  }

  private slotFor(id: string, tenant: string, generation: number): StreamSlot {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = {
        id,
        tenant,
        generation,
        state: 'paused',
        startedAt: this.options.clock.now(),
        counters: emptyCounters(),
        memory: {},
      };
      this.slots.set(id, slot);
    }
    slot.generation = generation;
    if (tenant) slot.tenant = tenant;
    return slot;
  }

  private async startSlot(slot: StreamSlot, definition: StreamDefinition): Promise<void> {
    const { logger } = this.options;
    try {
      await this.options.topics.ensure([
        { topic: definition.sink.topic, partitions: this.options.topicPartitions },
        { topic: definition.sink.dlqTopic, partitions: 1 },
      ]);
      const runner = new StreamRunner({
        definition,
        sink: this.options.sink,
        clock: this.options.clock,
        logger,
        batching: this.options.batching,
        counters: slot.counters,
      });
      const source = this.options.createSource(definition, slot.memory);
      slot.runner = runner;
      slot.source = source;
      await source.start({
        streamId: definition.id,
        submit: (record, done) => runner.submit(record, done),
        window: runner.window,
        clock: this.options.clock,
        logger,
        reportError: (error) => {
          slot.counters.errors++;
          slot.counters.lastError = describeError(error).slice(0, 1024);
        },
      });
      slot.state = 'running';
      slot.failedAt = undefined;
      slot.startedAt = this.options.clock.now();
      logger.info({ streamId: definition.id, generation: definition.generation, source: definition.source.kind }, 'stream started');
    } catch (error) {
      await this.stopSlot(slot);
      slot.state = 'failed';
      slot.failedAt = this.options.clock.now();
      slot.counters.errors++;
      slot.counters.lastError = describeError(error).slice(0, 1024);
      logger.error({ streamId: definition.id, err: describeError(error) }, 'stream failed to start');
    }
    this.changed(slot);
  }

  private async stopSlot(slot: StreamSlot): Promise<void> {
    const { source, runner } = slot;
    slot.source = undefined;
    slot.runner = undefined;
    try {
      await source?.stop();
    } catch (error) {
      this.options.logger.warn({ streamId: slot.id, err: describeError(error) }, 'stream source failed to stop cleanly');
    }
    await runner?.stop(this.options.stopDrainMs);
    if (source && 'lastAckedEventId' in source) {
      const id = (source as { lastAckedEventId?: string }).lastAckedEventId;
      if (id !== undefined) slot.memory.lastEventId = id;
    }
    if (source && 'position' in source) slot.memory.generatorNext = (source as { position: number }).position;
    if (source) this.options.logger.info({ streamId: slot.id }, 'stream stopped');
  }

  private changed(slot: StreamSlot): void {
    this.deleted.delete(slot.id);
    this.options.onChange?.(slot.id, this.view(slot), false);
  }
}

function generationOf(entry: DesiredStream): number {
  return entry.kind === 'valid' ? entry.definition.generation : entry.generation;
}
