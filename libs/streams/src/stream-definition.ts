import { StreamDesiredState, type Processor, type StreamSpec } from '@wharf/contracts';
import { InvalidArgumentError, type Violation } from '@wharf/platform';
import { systemClock } from '@wharf/platform';
import { compileProcessors } from './processor-chain';
import { isSerializerName, serializerNames, Serializers, type SerializerName } from './record-serializer';

/** A stream id is a DNS label, like job ids, so it fits topic, group and label names. */
const STREAM_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kafka's legal topic names. */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
/** Webhook paths: URL-safe segments, served under /ingest/. */
const WEBHOOK_PATH = /^[a-zA-Z0-9._~-]+(\/[a-zA-Z0-9._~-]+)*$/;
/** HTTP header names (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const HttpFormats = { ndjson: 'ndjson', sse: 'sse' } as const;
export type HttpFormat = (typeof HttpFormats)[keyof typeof HttpFormats];

export const Compressions = { none: 'none', gzip: 'gzip' } as const;
export type Compression = (typeof Compressions)[keyof typeof Compressions];

export type SourceDefinition =
  | {
      readonly kind: 'http';
      readonly url: string;
      readonly format: HttpFormat;
      readonly headers: Readonly<Record<string, string>>;
      /** Never logged, never in status or errors. */
      readonly bearerToken: string;
    }
  | { readonly kind: 'webhook'; readonly path: string }
  | { readonly kind: 'kafka'; readonly topic: string; readonly groupId: string }
  | { readonly kind: 'generator'; readonly rate: number; readonly count: number; readonly template: string };

export interface SinkDefinition {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly serializer: SerializerName;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: Compression;
}

/** A validated stream: what the runner needs, with every default filled in. */
export interface StreamDefinition {
  readonly id: string;
  readonly tenant: string;
  readonly generation: number;
  readonly desired: 'running' | 'paused';
  readonly source: SourceDefinition;
  readonly processors: readonly Processor[];
  readonly sink: SinkDefinition;
  readonly limits: { readonly maxRecords: number; readonly maxBytes: number };
}

export interface DefinitionDefaults {
  readonly maxInFlightRecords: number;
  readonly maxInFlightBytes: number;
  /** Upper bounds a spec may ask for. */
  readonly maxInFlightRecordsCap: number;
  readonly maxInFlightBytesCap: number;
}

/**
 * stream-ingest's default limits (its `limits.*` settings). The scheduler validates specs with
 * the same caps unless configured otherwise, so a spec it accepts is not refused by stream-ingest.
 */
export const defaultDefinitionDefaults: DefinitionDefaults = {
  maxInFlightRecords: 10_000,
  maxInFlightBytes: 16 * 1024 * 1024,
  maxInFlightRecordsCap: 200_000,
  maxInFlightBytesCap: 64 * 1024 * 1024,
};

/** The consumer group of a Kafka source when the spec names none. */
export function defaultSourceGroup(streamId: string): string {
  return `wharf.stream.${streamId}`;
}

/**
 * Validates a StreamSpec and fills in defaults. Every problem is listed at once, with the
 * field path as it appears in the spec (`source.http.url`, `processors[1].filter`).
 *
 * Thrown: {@link InvalidArgumentError} with the violations.
 */
export function toStreamDefinition(spec: StreamSpec, defaults: DefinitionDefaults): StreamDefinition {
  const problems: Violation[] = [];
  const need = (ok: boolean, field: string, description: string): void => {
    if (!ok) problems.push({ field, description });
  };

  need(STREAM_ID.test(spec.streamId) && spec.streamId.length <= 63, 'streamId', 'must be a DNS label (a-z, 0-9, -), at most 63 characters');
  need(spec.tenant.trim() !== '', 'tenant', 'is required');

  const source = sourceOf(spec, problems);

  try {
    compileProcessors(spec.processors, { streamId: spec.streamId, clock: systemClock });
  } catch (error) {
    if (error instanceof InvalidArgumentError) problems.push(...error.violations);
    else throw error;
  }

  const sinkSpec = spec.sink;
  need(sinkSpec !== undefined, 'sink', 'is required');
  const topic = sinkSpec?.topic ?? '';
  need(TOPIC.test(topic), 'sink.topic', 'must be a Kafka topic name (a-z, A-Z, 0-9, ".", "_", "-")');
  need(!topic.startsWith('wharf.') || topic.startsWith('wharf.stream.'), 'sink.topic', 'must not be a wharf.* platform topic');
  const dlqTopic = sinkSpec?.dlqTopic || `${topic}.dlq`;
  need(TOPIC.test(dlqTopic), 'sink.dlqTopic', 'must be a Kafka topic name');
  need(dlqTopic !== topic, 'sink.dlqTopic', 'must differ from sink.topic');
  const producesValues = spec.processors.some((p) => p.parseJson !== undefined || p.map !== undefined);
  const serializer = sinkSpec?.serializer || (producesValues ? Serializers.json : Serializers.bytes);
  need(isSerializerName(serializer), 'sink.serializer', `must be one of ${serializerNames.join(', ')}`);
  const compression = sinkSpec?.compression || Compressions.none;
  need(compression === 'none' || compression === 'gzip', 'sink.compression', 'must be none or gzip');
  for (const name of Object.keys(sinkSpec?.headers ?? {})) {
    need(HEADER_NAME.test(name), `sink.headers.${name}`, 'is not a valid header name');
  }

  const maxRecords = spec.limits?.maxInFlightRecords || defaults.maxInFlightRecords;
  const maxBytes = Number(spec.limits?.maxInFlightBytes || defaults.maxInFlightBytes);
  need(maxRecords > 0 && maxRecords <= defaults.maxInFlightRecordsCap, 'limits.maxInFlightRecords', `must be between 1 and ${defaults.maxInFlightRecordsCap}`);
  need(maxBytes > 0 && maxBytes <= defaults.maxInFlightBytesCap, 'limits.maxInFlightBytes', `must be between 1 and ${defaults.maxInFlightBytesCap}`);

  const state = spec.desiredState;
  need(
    state === StreamDesiredState.STREAM_DESIRED_STATE_RUNNING ||
      state === StreamDesiredState.STREAM_DESIRED_STATE_PAUSED ||
      state === StreamDesiredState.STREAM_DESIRED_STATE_UNSPECIFIED,
    'desiredState',
    'must be RUNNING or PAUSED',
  );

  if (problems.length > 0 || !source) {
    throw new InvalidArgumentError('invalid stream spec', problems, { context: { streamId: spec.streamId } });
  }
  return {
    id: spec.streamId,
    tenant: spec.tenant,
    generation: Number(spec.generation),
    desired: state === StreamDesiredState.STREAM_DESIRED_STATE_PAUSED ? 'paused' : 'running',
    source,
    processors: spec.processors,
    sink: {
      topic,
      dlqTopic,
      serializer: serializer as SerializerName,
      headers: { ...(sinkSpec?.headers ?? {}) },
      compression: compression as Compression,
    },
    limits: { maxRecords, maxBytes },
  };
}

function sourceOf(spec: StreamSpec, problems: Violation[]): SourceDefinition | undefined {
  const s = spec.source;
  const set = s ? [s.http, s.webhook, s.kafka, s.generator].filter((x) => x !== undefined).length : 0;
  if (!s || set !== 1) {
    problems.push({ field: 'source', description: 'set exactly one of http, webhook, kafka, generator' });
    return undefined;
  }
  const before = problems.length;
  const need = (ok: boolean, field: string, description: string): void => {
    if (!ok) problems.push({ field, description });
  };
  if (s.http) {
    let url: URL | undefined;
    try {
      url = new URL(s.http.url);
    } catch {
      url = undefined;
    }
    need(url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:'), 'source.http.url', 'must be an http or https URL');
    need(url === undefined || (url.username === '' && url.password === ''), 'source.http.url', 'must not carry credentials (use bearerToken or headers)');
    const format = s.http.format || HttpFormats.ndjson;
    need(format === 'ndjson' || format === 'sse', 'source.http.format', 'must be ndjson or sse');
    for (const name of Object.keys(s.http.headers)) {
      need(HEADER_NAME.test(name), `source.http.headers.${name}`, 'is not a valid header name');
    }
    if (problems.length > before) return undefined;
    return {
      kind: 'http',
      url: s.http.url,
      format: format as HttpFormat,
      headers: { ...s.http.headers },
      bearerToken: s.http.bearerToken,
    };
  }
  if (s.webhook) {
    const path = s.webhook.path.replace(/^\/+/, '');
    need(
      WEBHOOK_PATH.test(path) && !path.split('/').some((segment) => segment === '.' || segment === '..'),
      'source.webhook.path',
      'must be URL path segments (a-z, A-Z, 0-9, . _ ~ -), without . or ..',
    );
    return problems.length > before ? undefined : { kind: 'webhook', path };
  }
  if (s.kafka) {
    need(TOPIC.test(s.kafka.topic), 'source.kafka.topic', 'must be a Kafka topic name');
    need(s.kafka.topic !== spec.sink?.topic, 'source.kafka.topic', 'must differ from sink.topic (a loop)');
    const groupId = s.kafka.groupId || defaultSourceGroup(spec.streamId);
    return problems.length > before ? undefined : { kind: 'kafka', topic: s.kafka.topic, groupId };
  }
  const g = s.generator;
  if (!g) return undefined;
  need(Number.isFinite(g.rate) && g.rate >= 0, 'source.generator.rate', 'must be 0 (as fast as possible) or a positive rate');
  need(Number(g.count) >= 0, 'source.generator.count', 'must be 0 (unbounded) or positive');
  return problems.length > before
    ? undefined
    : { kind: 'generator', rate: g.rate, count: Number(g.count), template: g.template || '{"seq":{{ seq }}}' };
}
