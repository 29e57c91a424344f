import type { JsonValue } from '@bufbuild/protobuf';
import {
  afterFinishKinds,
  describeEvent,
  isObject,
  type EventKind,
  type SeenEvent,
} from './event-kinds';

/** One expected event: its kind and, optionally, fields its payload must have. */
export interface ExpectedStep {
  readonly kind: EventKind;
  /** Partial proto3 JSON of the payload (keys in camelCase or snake_case). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isDefault(value: unknown): boolean {
  return (
    value === false ||
    value === 0 ||
    value === '' ||
    (typeof value === 'string' && /_UNSPECIFIED$/.test(value)) ||
    (Array.isArray(value) && value.length === 0) ||
    (isObject(value) && Object.values(value).every(isDefault))
  );
}

const enumName = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

function show(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

/**
 * Whether `actual` (proto3 JSON) has what `expected` names: every key of an expected object
 * (camelCase or snake_case), arrays element by element, scalars equal. Enum values may be
 * given short (`FAILED` for `RUN_STATE_FAILED`, any case), 64-bit integers as numbers, and an
 * unset field equals its default (`false`, `0`, `''`). `null` expects nothing.
 * Returns undefined on a match, otherwise what differs (`result.exitCode: expected 1, got 0`).
 */
export function matchValue(
  expected: unknown,
  actual: JsonValue | undefined,
  path = '',
): string | undefined {
  const at = path || '(value)';
  if (expected === null || expected === undefined) return undefined;
  if (actual === undefined || actual === null) {
    return isDefault(expected) ? undefined : `${at}: expected ${show(expected)}, got (unset)`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected a list, got ${show(actual)}`;
    if (actual.length !== expected.length) {
      return `${at}: expected ${expected.length} element(s), got ${actual.length} ${show(actual)}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const miss = matchValue(expected[i], actual[i], `${path}[${i}]`);
      if (miss) return miss;
    }
    return undefined;
  }
  if (isObject(expected as JsonValue)) {
    if (!isObject(actual)) return `${at}: expected an object, got ${show(actual)}`;
    for (const [key, value] of Object.entries(expected as Record<string, unknown>)) {
      const name = camel(key);
      const miss = matchValue(value, actual[name], path ? `${path}.${name}` : name);
      if (miss) return miss;
    }
    return undefined;
  }
  if (typeof expected === 'number' || typeof expected === 'bigint') {
    return (typeof actual === 'number' || typeof actual === 'string') &&
      String(actual) === String(expected)
      ? undefined
      : `${at}: expected ${String(expected)}, got ${show(actual)}`;
  }
  if (typeof expected === 'boolean') {
    return actual === expected
      ? undefined
      : `${at}: expected ${String(expected)}, got ${show(actual)}`;
  }
  if (typeof expected === 'string') {
    if (actual === expected) return undefined;
    if (
      typeof actual === 'string' &&
      enumName.test(actual) &&
      /^[A-Za-z][A-Za-z0-9_]*$/.test(expected)
    ) {
      if (actual.endsWith(`_${expected.toUpperCase()}`)) return undefined;
    }
    return `${at}: expected ${show(expected)}, got ${show(actual)}`;
  }
  return `${at}: cannot compare ${show(expected)}`;
}

/** Why an event did not match the step it was checked against. */
export interface NearMiss {
  readonly event: SeenEvent;
  readonly why: string;
}

/**
 * Checks a job's events against an ordered list of expected steps: the steps must appear in
 * this order (a subsequence), other events in between are ignored (heartbeats never reach it;
 * index_finished, run_created, logs_archived… that the scenario does not name). Matching is
 * greedy, which finds a subsequence whenever one exists.
 */
export class SequenceMatcher {
  private position = 0;
  private readonly events: SeenEvent[] = [];
  private readonly matched: SeenEvent[] = [];
  private lastMiss: NearMiss | undefined;

  constructor(readonly steps: readonly ExpectedStep[]) {}

  /** Feeds the next event; true when it matched the next expected step. */
  push(event: SeenEvent): boolean {
    this.events.push(event);
    const step = this.steps[this.position];
    if (!step || step.kind !== event.kind) return false;
    const why = step.fields ? matchValue(step.fields, event.payload) : undefined;
    if (why) {
      this.lastMiss = { event, why };
      return false;
    }
    this.matched.push(event);
    this.position++;
    this.lastMiss = undefined;
    return true;
  }

  get complete(): boolean {
    return this.position >= this.steps.length;
  }

  /** The step waited for; undefined once complete. */
  get next(): ExpectedStep | undefined {
    return this.steps[this.position];
  }

  get seen(): readonly SeenEvent[] {
    return this.events;
  }

  /** The events that matched, one per completed step. */
  get matchedEvents(): readonly SeenEvent[] {
    return this.matched;
  }

  /**
   * Whether the remaining steps can still match once the job has finished: only kinds that
   * follow a job's end (logs_archived) may be left.
   */
  canCompleteAfterFinish(): boolean {
    return this.steps.slice(this.position).every((s) => afterFinishKinds.has(s.kind));
  }

  /** What went wrong, in a few lines: the step waited for, and why no event matched it. */
  explain(): string[] {
    const step = this.next;
    if (!step) return [];
    const lines = [
      `waiting for step ${this.position + 1}/${this.steps.length}: ${describeStep(step)}`,
    ];
    if (this.lastMiss) {
      lines.push(
        `#${this.lastMiss.event.sequence} ${describeEvent(this.lastMiss.event)} did not match: ${this.lastMiss.why}`,
      );
    }
    const lastMatched = this.matched.at(-1);
    const early = this.events.find(
      (e) =>
        e.kind === step.kind &&
        !this.matched.includes(e) &&
        lastMatched !== undefined &&
        e.sequence < lastMatched.sequence,
    );
    if (
      early &&
      !this.events.some((e) => e.kind === step.kind && e.sequence > (lastMatched?.sequence ?? 0))
    ) {
      lines.push(
        `out of order: ${step.kind} came at #${early.sequence}, before ${lastMatched?.kind} (#${lastMatched?.sequence})`,
      );
    }
    return lines;
  }
}

export function describeStep(step: ExpectedStep): string {
  return step.fields ? `${step.kind} ${JSON.stringify(step.fields)}` : step.kind;
}

/** What to do after an event: keep watching, or stop (then judge). */
export type WatchDecision = 'wait' | 'stop';

/**
 * A job is followed until its `finished` event and every step has matched; after `finished`,
 * only steps that can follow it (logs_archived) are still waited for.
 */
export function decide(matcher: SequenceMatcher, finished: boolean): WatchDecision {
  if (!finished) return 'wait';
  if (matcher.complete) return 'stop';
  return matcher.canCompleteAfterFinish() ? 'wait' : 'stop';
}
