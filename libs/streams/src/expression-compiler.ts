import jsonata from 'jsonata';
import { InvalidArgumentError } from '@wharf/platform';

/**
 * The stream expression language is JSONata (see docs/adr/0005-stream-expression-language.md):
 * a query and transformation language for JSON, interpreted, with no access to JavaScript
 * globals, the process, the file system or the network. User JavaScript is never evaluated.
 *
 * Guardrails against expensive expressions: an evaluation is stopped after `timeoutMs`, a
 * recursion deeper than `maxDepth` and a sequence longer than `maxSequence` items.
 */
export interface ExpressionLimits {
  /** @default 200 */
  readonly timeoutMs?: number;
  /** @default 200 */
  readonly maxDepth?: number;
  /** @default 100_000 */
  readonly maxSequence?: number;
}

/** A compiled expression: evaluates against one record's value. */
export interface CompiledExpression {
  readonly source: string;
  /**
   * Thrown: an Error with the JSONata error code and message (e.g. "T2001: The left side of
   * the '+' operator must evaluate to a number") when evaluation fails.
   */
  evaluate(input: unknown, bindings?: Readonly<Record<string, unknown>>): Promise<unknown>;
}

interface JsonataFailure {
  readonly code?: string;
  readonly message?: string;
  readonly position?: number;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && !('code' in error)) return error.message;
  const e = (error ?? {}) as JsonataFailure;
  const where = typeof e.position === 'number' ? ` (at ${e.position})` : '';
  return `${e.code ?? 'error'}: ${e.message ?? String(error)}${where}`;
}

/**
 * Compiles `source`. Thrown: {@link InvalidArgumentError} naming `field` when the expression
 * does not parse.
 */
export function compileExpression(source: string, field: string, limits: ExpressionLimits = {}): CompiledExpression {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source, {
      timeout: limits.timeoutMs ?? 200,
      stack: limits.maxDepth ?? 200,
      sequence: limits.maxSequence ?? 100_000,
    });
  } catch (error) {
    throw new InvalidArgumentError('invalid expression', [{ field, description: describeFailure(error) }]);
  }
  return {
    source,
    evaluate: async (input, bindings) => {
      try {
        return await expression.evaluate(input, bindings ? { ...bindings } : undefined);
      } catch (error) {
        throw new Error(describeFailure(error), { cause: error });
      }
    },
  };
}
