import { StreamDesiredState, type StreamSpec } from '@wharf/contracts';
import type { DefinitionDefaults } from '../src/stream-definition';

// The validator's fixtures (stream-ingest's test/stream-fixtures.ts has the same builders, plus
// fake sinks; a lib cannot import an app's test helpers).

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
