import { systemClock, type Clock } from '@wharf/platform';
import type { SourceContext } from '../src/stream-source';
import { StreamRunner } from '../src/stream-runner';
import { definitionOf, FakeSink, silentLogger } from './stream-fixtures';

/** A runner over a FakeSink and the SourceContext a source gets from it. */
export function sourceHarness(
  overrides: Parameters<typeof definitionOf>[0] = {},
  clock: Clock = systemClock,
): { sink: FakeSink; runner: StreamRunner; context: SourceContext; errors: unknown[] } {
  const sink = new FakeSink();
  const runner = new StreamRunner({
    definition: definitionOf(overrides),
    sink,
    clock,
    logger: silentLogger,
    batching: { maxBatchRecords: 500, maxBatchBytes: 1 << 20 },
  });
  const errors: unknown[] = [];
  const context: SourceContext = {
    streamId: runner.id,
    submit: (record, done) => runner.submit(record, done),
    window: runner.window,
    clock,
    logger: silentLogger,
    reportError: (error) => errors.push(error),
  };
  return { sink, runner, context, errors };
}
