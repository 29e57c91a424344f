import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { JobEvent, jobStateToJSON } from '@wharf/contracts';
import { messageToJson } from '@wharf/client';

/**
 * The kinds of JobEvent: the names of the `event` oneof in
 * libs/contracts/proto/wharf/v1/jobs.proto, in the order a job usually goes through them.
 */
export const eventKinds = [
  'submitted',
  'admitted',
  'run_created',
  'run_started',
  'index_finished',
  'run_finished',
  'finished',
  'cancel_requested',
  'logs_archived',
] as const;
export type EventKind = (typeof eventKinds)[number];

/** The proto3 JSON (and ts-proto) name of each kind's oneof field. */
const jsonNames = {
  submitted: 'submitted',
  admitted: 'admitted',
  run_created: 'runCreated',
  run_started: 'runStarted',
  index_finished: 'indexFinished',
  run_finished: 'runFinished',
  finished: 'finished',
  cancel_requested: 'cancelRequested',
  logs_archived: 'logsArchived',
} as const satisfies Record<EventKind, keyof JobEvent>;

/** Kinds that can still arrive after a job's `finished` event (logs are archived later). */
export const afterFinishKinds: ReadonlySet<EventKind> = new Set<EventKind>(['logs_archived']);

/** The kind a scenario names, by its proto name (`run_started`) or JSON name (`runStarted`). */
export function parseEventKind(name: string): EventKind | undefined {
  const kind = eventKinds.find((k) => k === name || jsonNames[k] === name);
  return kind;
}

/** One JobEvent as the matcher sees it. */
export interface SeenEvent {
  readonly kind: EventKind;
  readonly sequence: number;
  readonly run: number;
  /** The job's state after the event, short form (`RUNNING`). */
  readonly state: string;
  /** The oneof payload in proto3 JSON with defaults present (`{ state: 'RUN_STATE_FAILED', … }`). */
  readonly payload: JsonObject;
  /** Milliseconds since the scenario started when the event arrived. */
  readonly atMs: number;
}

/** Short form of an enum name: `JOB_STATE_SUCCEEDED` → `SUCCEEDED`. */
export function shortState(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** A JobEvent for the matcher; undefined for an event without a known kind (a newer server). */
export function toSeenEvent(event: JobEvent, atMs: number): SeenEvent | undefined {
  const kind = eventKinds.find((k) => event[jsonNames[k]] !== undefined);
  if (!kind) return undefined;
  // Every scalar present (defaults included), so a scenario can expect `exitCode: 0`.
  const json = messageToJson(JobEvent, 'wharf.v1.JobEvent', event, {
    emitDefaults: true,
  }) as JsonObject;
  const payload = json[jsonNames[kind]];
  return {
    kind,
    sequence: event.sequence,
    run: event.run,
    state: shortState(jobStateToJSON(event.state), 'JOB_STATE_'),
    payload: isObject(payload) ? payload : {},
    atMs,
  };
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A compact label of an event for reports, e.g. `index_finished[2 exit 1]`, `finished(FAILED)`. */
export function describeEvent(event: SeenEvent): string {
  const p = event.payload;
  const str = (v: JsonValue | undefined) => (typeof v === 'string' ? v : '');
  switch (event.kind) {
    case 'index_finished': {
      const r = isObject(p['result']) ? p['result'] : {};
      return `index_finished[${String(r['index'] ?? '?')} ${r['succeeded'] ? 'ok' : `exit ${String(r['exitCode'] ?? '?')}`}]`;
    }
    case 'run_finished': {
      const reason = str(p['reason']);
      const retry = p['willRetry'] === true ? ' will retry' : '';
      return `run_finished(${shortState(str(p['state']), 'RUN_STATE_')}${reason ? ` ${reason}` : ''}${retry})`;
    }
    case 'finished':
      return `finished(${shortState(str(p['state']), 'JOB_STATE_')})`;
    default:
      return event.kind;
  }
}
