import type { Processor } from '@wharf/contracts';
import { InvalidArgumentError, type Violation } from '@wharf/platform';
import { sleepOn, type Clock } from '@wharf/platform';
import { compileExpression, type CompiledExpression, type ExpressionLimits } from './expression-compiler';
import { RecordRejectedError } from './stream-errors';
import { TokenBucket } from './token-bucket';

/**
 * A record on its way through a stream. `value` starts as the bytes the source delivered and
 * becomes whatever parse_json/map make of it; `raw` keeps the original for the DLQ.
 */
export interface StreamRecord {
  value: unknown;
  readonly raw: Buffer;
  key: string | Buffer | null;
  readonly headers: Record<string, string>;
}

/** What one processor decided about a record. */
export type StepOutcome = 'keep' | 'drop';

/** One processor. Returns synchronously when it can, so chains without expressions stay cheap. */
export type ProcessorStep = (record: StreamRecord, signal: AbortSignal) => StepOutcome | Promise<StepOutcome>;

export interface CompiledChain {
  readonly steps: readonly ProcessorStep[];
  /** True when a step parses or replaces the value (the default serializer is then json). */
  readonly producesValues: boolean;
}

export interface ChainOptions {
  readonly streamId: string;
  readonly clock: Clock;
  readonly expressionLimits?: ExpressionLimits;
}

/** The processor kinds as they appear in specs and DLQ headers. */
export const ProcessorKinds = {
  parseJson: 'parse_json',
  filter: 'filter',
  map: 'map',
  key: 'key',
  rateLimit: 'rate_limit',
} as const;
export type ProcessorKind = (typeof ProcessorKinds)[keyof typeof ProcessorKinds];

/** The kind of a processor, or undefined when it sets none or more than one. */
export function processorKindOf(processor: Processor): ProcessorKind | undefined {
  const set: ProcessorKind[] = [];
  if (processor.parseJson !== undefined) set.push(ProcessorKinds.parseJson);
  if (processor.filter !== undefined) set.push(ProcessorKinds.filter);
  if (processor.map !== undefined) set.push(ProcessorKinds.map);
  if (processor.key !== undefined) set.push(ProcessorKinds.key);
  if (processor.rateLimit !== undefined) set.push(ProcessorKinds.rateLimit);
  return set.length === 1 ? set[0] : undefined;
}

/** Expressions see a record that was not parsed as its UTF-8 text. */
function expressionInput(value: unknown): unknown {
  return Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy);
  return Boolean(value);
}

/**
 * Compiles a stream's processors into steps, in order. Every expression is compiled up front,
 * so a spec with a broken expression is rejected as a whole (with every problem listed), not
 * record by record.
 *
 * At run time a step throws {@link RecordRejectedError} for a record it cannot handle (the
 * record goes to the DLQ); the rate limit waits (on the injected clock) instead of dropping.
 *
 * Thrown: {@link InvalidArgumentError} listing every invalid processor.
 */
export function compileProcessors(processors: readonly Processor[], options: ChainOptions): CompiledChain {
  const steps: ProcessorStep[] = [];
  const problems: Violation[] = [];
  let producesValues = false;
  const bindingsOf = (record: StreamRecord): Record<string, unknown> => ({
    stream: options.streamId,
    headers: record.headers,
    key: Buffer.isBuffer(record.key) ? record.key.toString('utf8') : record.key,
  });
  const compile = (source: string, field: string): CompiledExpression | undefined => {
    try {
      return compileExpression(source, field, options.expressionLimits);
    } catch (error) {
      if (error instanceof InvalidArgumentError) problems.push(...error.violations);
      else throw error;
      return undefined;
    }
  };

  processors.forEach((processor, index) => {
    const kind = processorKindOf(processor);
    const field = `processors[${index}]`;
    if (kind === undefined) {
      problems.push({ field, description: 'set exactly one of parse_json, filter, map, key, rate_limit' });
      return;
    }
    const step = `${field}.${kind}`;
    switch (kind) {
      case ProcessorKinds.parseJson: {
        producesValues = true;
        steps.push((record) => {
          if (!Buffer.isBuffer(record.value) && typeof record.value !== 'string') return 'keep';
          const text = Buffer.isBuffer(record.value) ? record.value.toString('utf8') : record.value;
          try {
            record.value = JSON.parse(text);
          } catch (error) {
            throw new RecordRejectedError(`not JSON: ${(error as Error).message}`, step);
          }
          return 'keep';
        });
        return;
      }
      case ProcessorKinds.filter:
      case ProcessorKinds.map:
      case ProcessorKinds.key: {
        const source = (processor[kind === 'filter' ? 'filter' : kind === 'map' ? 'map' : 'key'] ?? '').trim();
        if (source === '') {
          problems.push({ field: step, description: 'the expression is empty' });
          return;
        }
        const expression = compile(source, step);
        if (!expression) return;
        const evaluate = async (record: StreamRecord): Promise<unknown> => {
          try {
            return await expression.evaluate(expressionInput(record.value), bindingsOf(record));
          } catch (error) {
            throw new RecordRejectedError(`expression failed: ${(error as Error).message}`, step, { cause: error });
          }
        };
        if (kind === ProcessorKinds.filter) {
          steps.push(async (record): Promise<StepOutcome> => (truthy(await evaluate(record)) ? 'keep' : 'drop'));
        } else if (kind === ProcessorKinds.map) {
          producesValues = true;
          steps.push(async (record): Promise<StepOutcome> => {
            const value = await evaluate(record);
            if (value === undefined) throw new RecordRejectedError('map produced no value', step);
            record.value = value;
            return 'keep';
          });
        } else {
          steps.push(async (record): Promise<StepOutcome> => {
            const value = await evaluate(record);
            if (value === undefined || value === null) throw new RecordRejectedError('key expression produced no value', step);
            if (typeof value === 'object') throw new RecordRejectedError('key expression must produce a string or number', step);
            record.key = String(value);
            return 'keep';
          });
        }
        return;
      }
      case ProcessorKinds.rateLimit: {
        const rate = processor.rateLimit ?? 0;
        if (!(rate > 0) || !Number.isFinite(rate)) {
          problems.push({ field: step, description: 'must be a positive number of records per second' });
          return;
        }
        const bucket = new TokenBucket(rate, Math.max(1, rate), options.clock.now());
        steps.push(async (_record, signal): Promise<StepOutcome> => {
          for (;;) {
            const taken = bucket.take(options.clock.now());
            if (taken.ok) return 'keep';
            await sleepOn(options.clock, taken.waitMs, signal);
          }
        });
        return;
      }
    }
  });
  if (problems.length > 0) throw new InvalidArgumentError('invalid processors', problems);
  return { steps, producesValues };
}

/**
 * Runs `record` through `steps`. Resolves 'drop' when a filter dropped it. Synchronous steps are
 * not awaited, so a chain of them costs no promise per record.
 *
 * Thrown: {@link RecordRejectedError} from the step that rejected it; the abort reason when
 * `signal` aborted a wait.
 */
export function runSteps(
  steps: readonly ProcessorStep[],
  record: StreamRecord,
  signal: AbortSignal,
  from = 0,
): StepOutcome | Promise<StepOutcome> {
  for (let i = from; i < steps.length; i++) {
    const outcome = (steps[i] as ProcessorStep)(record, signal);
    if (outcome instanceof Promise) {
      return outcome.then((resolved) => (resolved === 'drop' ? 'drop' : runSteps(steps, record, signal, i + 1)));
    }
    if (outcome === 'drop') return 'drop';
  }
  return 'keep';
}
