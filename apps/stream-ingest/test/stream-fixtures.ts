import { StreamDesiredState, type StreamSpec } from '@wharf/contracts';
import { createLogger } from '@wharf/platform';
import type { OutRecord, RecordSink } from '../src/ports';
import { toStreamDefinition, type DefinitionDefaults, type StreamDefinition } from '../src/stream-definition';

export const silentLogger = createLogger({ service: 'stream-ingest-test', level: 'silent' });

export const testDefaults: DefinitionDefaults = {
  maxInFlightRecords: 1000,
  maxInFlightBytes: 1024 * 1024,
  maxInFlightRecordsCap: 1_000_000,
  maxInFlightBytesCap: 256 * 1024 * 1024,
};

/** A valid generator → topic spec; override what a test is about. */
export function specOf(overrides: Partial<StreamSpec> = {}): StreamSpec {
  return {
    streamId: 'orders',
    tenant: 'acme',
    source: { generator: { rate: 0, count: 0, template: '' } },
    processors: [],
    sink: { topic: 'orders-out', serializer: '', headers: {}, compression: '', dlqTopic: '' },
    limits: undefined,
    desiredState: StreamDesiredState.STREAM_DESIRED_STATE_RUNNING,
    generation: 1,
    ...overrides,
  };
}

export function definitionOf(overrides: Partial<StreamSpec> = {}): StreamDefinition {
  return toStreamDefinition(specOf(overrides), testDefaults);
}

interface PendingSend {
  readonly topic: string;
  readonly records: readonly OutRecord[];
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A sink the test controls: `auto` acknowledges at once; otherwise sends wait in `pending`
 * until the test resolves or rejects them. `failNext` makes the next sends fail.
 */
export class FakeSink implements RecordSink {
  readonly written: { topic: string; record: OutRecord }[] = [];
  readonly pending: PendingSend[] = [];
  readonly batches: number[] = [];
  auto = true;
  failures: unknown[] = [];

  send(topic: string, records: readonly OutRecord[]): Promise<unknown> {
    this.batches.push(records.length);
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const land = (): void => {
      for (const record of records) this.written.push({ topic, record });
    };
    if (this.auto) {
      land();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.pending.push({
        topic,
        records,
        resolve: () => {
          land();
          resolve(undefined);
        },
        reject,
      });
    });
  }

  values(topic: string): string[] {
    return this.written.filter((w) => w.topic === topic).map((w) => w.record.value?.toString() ?? '');
  }

  headers(topic: string): Record<string, string | Buffer>[] {
    return this.written.filter((w) => w.topic === topic).map((w) => ({ ...(w.record.headers ?? {}) }));
  }
}
