import {
  ContentTypes,
  contentTypeOf,
  decodeMessage,
  StreamDesiredState,
  StreamSpec,
  StreamStatus,
  type Stream,
} from '@wharf/contracts';
import {
  AlreadyExistsError,
  describeError,
  ensureTopics,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  readToEnd,
  retry,
  UnavailableError,
  type Component,
  type KafkaClient,
  type Logger,
  type RecordSender,
  type SecretSealer,
  type Violation,
} from '@wharf/platform';
import { SECRET_HEADER, sealStreamSecrets, toStreamDefinition, type DefinitionDefaults } from '@wharf/streams';

/** What responses show instead of a secret (bearer token, credential headers). */
export const REDACTED = '[redacted]';

/** The largest encoded spec accepted (wharf.streams keeps the broker's default record limit). */
export const MAX_STREAM_SPEC_BYTES = 512 * 1024;

/**
 * The public view of a spec: the HTTP source's bearer token and credential headers are
 * replaced by {@link REDACTED}. The stored spec keeps them for stream-ingest (sealed when the
 * scheduler has a seal key).
 */
export function redactStreamSpec(spec: StreamSpec): StreamSpec {
  const http = spec.source?.http;
  if (!http) return spec;
  const headers = Object.fromEntries(
    Object.entries(http.headers).map(([name, value]) => [name, SECRET_HEADER.test(name) && value !== '' ? REDACTED : value]),
  );
  return { ...spec, source: { ...spec.source, http: { ...http, bearerToken: http.bearerToken === '' ? '' : REDACTED, headers } } };
}

/** An update that carries {@link REDACTED} (from a Get's answer) keeps the stored secret. */
function restoreSecrets(spec: StreamSpec, stored: StreamSpec): StreamSpec {
  const http = spec.source?.http;
  const old = stored.source?.http;
  if (!http || !old) return spec;
  const headers = Object.fromEntries(
    Object.entries(http.headers).map(([name, value]) => [name, value === REDACTED && old.headers[name] !== undefined ? old.headers[name] : value]),
  );
  const bearerToken = http.bearerToken === REDACTED ? old.bearerToken : http.bearerToken;
  return { ...spec, source: { ...spec.source, http: { ...http, bearerToken, headers } } };
}

/** The placeholder given as a secret where there is no stored one to keep. */
function placeholderViolations(spec: StreamSpec): Violation[] {
  const http = spec.source?.http;
  if (!http) return [];
  const problems: Violation[] = [];
  if (http.bearerToken === REDACTED) problems.push({ field: 'source.http.bearerToken', description: `is the placeholder '${REDACTED}'; give the token` });
  for (const [name, value] of Object.entries(http.headers)) {
    if (value === REDACTED) problems.push({ field: `source.http.headers.${name}`, description: `is the placeholder '${REDACTED}'; give the value` });
  }
  return problems;
}

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** Two specs define the same stream: equal but for generation (and desired state unless `withState`). */
function sameSpec(a: StreamSpec, b: StreamSpec, withState: boolean): boolean {
  const key = (s: StreamSpec) =>
    sortedJson(StreamSpec.toJSON({ ...s, generation: 0, desiredState: withState ? s.desiredState : StreamDesiredState.STREAM_DESIRED_STATE_UNSPECIFIED }));
  return key(a) === key(b);
}

const isPaused = (spec: StreamSpec): boolean => spec.desiredState === StreamDesiredState.STREAM_DESIRED_STATE_PAUSED;

/** Where stream specs are kept: wharf.streams in production, a fake in unit tests. */
export interface StreamLog {
  /** Reads every spec record to the end of the log (null: a tombstone, the stream was deleted). */
  load(onRecord: (streamId: string, spec: StreamSpec | null) => void): Promise<void>;
  /** Writes a spec (null: a tombstone); resolves once the broker acknowledged it (acks=all). */
  write(streamId: string, spec: StreamSpec | null): Promise<void>;
}

export interface KafkaStreamLogOptions {
  readonly kafka: KafkaClient;
  readonly producer: RecordSender;
  readonly logger: Logger;
  /** wharf.streams (with the namespace prefix). */
  readonly topic: string;
  /** wharf.streams.status, created with the specs topic so stream-ingest finds both. */
  readonly statusTopic: string;
  /** Partitions of both topics when the scheduler creates them. */
  readonly partitions: number;
}

/** wharf.streams: compacted, key stream id, value StreamSpec (protobuf); a tombstone deletes. */
export class KafkaStreamLog implements StreamLog {
  constructor(private readonly options: KafkaStreamLogOptions) {}

  async load(onRecord: (streamId: string, spec: StreamSpec | null) => void): Promise<void> {
    const { kafka, topic, statusTopic, partitions, logger } = this.options;
    const admin = kafka.admin();
    try {
      await ensureTopics(admin, [
        { topic, partitions, compacted: true },
        { topic: statusTopic, partitions },
      ]);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await readToEnd(
      kafka,
      topic,
      (record) => {
        const id = record.key?.toString('utf8') ?? '';
        if (id === '') return;
        if (record.value === null || record.value.length === 0) {
          onRecord(id, null);
          return;
        }
        try {
          const spec = decodeMessage(StreamSpec, 'StreamSpec', record.value, contentTypeOf(record.headers, record.value));
          if (spec.streamId !== id) {
            logger.warn({ topic, streamId: id, offset: record.offset }, 'stream spec whose key differs from its streamId ignored');
            return;
          }
          onRecord(id, spec);
        } catch (error) {
          logger.warn({ topic, streamId: id, offset: record.offset, err: describeError(error) }, 'undecodable stream spec ignored');
        }
      },
      { logger },
    );
  }

  async write(streamId: string, spec: StreamSpec | null): Promise<void> {
    const { producer, topic } = this.options;
    if (spec) await producer.sendMessage(topic, streamId, StreamSpec, spec, ContentTypes.protobuf);
    else await producer.send(topic, [{ key: streamId, value: null }]);
  }
}

export interface StreamRegistryOptions {
  readonly log: StreamLog;
  readonly logger: Logger;
  /** The caps specs are validated against (stream-ingest's `limits.*`). */
  readonly defaults: DefinitionDefaults;
  /** Statuses kept at most (the oldest reported are dropped). @default 10_000 */
  readonly maxStatuses?: number;
  /** Backoff of a failed load. @default { minDelayMs: 500, maxDelayMs: 10_000 } */
  readonly loadRetry?: { readonly minDelayMs?: number; readonly maxDelayMs?: number };
  /** Seals the bearer token and credential headers before they are written (none: as sent). */
  readonly sealer?: SecretSealer;
}

export interface CreateOutcome {
  readonly stream: Stream;
  readonly created: boolean;
}

/**
 * The streams' desired state, owned by the leading scheduler. While leading it holds every
 * spec of wharf.streams in memory (read to the end when the term starts, in the background:
 * until then every call answers UNAVAILABLE) and the latest StreamStatus per stream
 * (fed by {@link observeStatus} from wharf.streams.status).
 *
 * Writes for one stream id run one at a time, each after the previous one was acknowledged,
 * so generations never go backwards; memory changes only after the broker acknowledged the
 * write, and the caller is answered only then. A tenant sees and changes only its own streams
 * (another tenant's: PERMISSION_DENIED). Every returned spec is redacted.
 */
export class StreamRegistry implements Component {
  readonly name = 'stream-registry';
  private readonly specs = new Map<string, StreamSpec>();
  private readonly statuses = new Map<string, StreamStatus>();
  private readonly tails = new Map<string, Promise<unknown>>();
  private loaded = false;
  private term = 0;
  private loading: Promise<void> | undefined;
  private abort: AbortController | undefined;

  constructor(private readonly options: StreamRegistryOptions) {}

  /** Starts loading wharf.streams in the background (retried until it works or stop()). */
  async start(): Promise<void> {
    this.term++;
    this.loaded = false;
    this.specs.clear();
    this.statuses.clear();
    const abort = new AbortController();
    this.abort = abort;
    const term = this.term;
    const { logger, loadRetry } = this.options;
    this.loading = retry(() => this.load(term), {
      retries: Infinity,
      minDelayMs: loadRetry?.minDelayMs ?? 500,
      maxDelayMs: loadRetry?.maxDelayMs ?? 10_000,
      signal: abort.signal,
      shouldRetry: () => !abort.signal.aborted,
      onRetry: (error, attempt) => logger.warn({ err: describeError(error), attempt }, 'cannot load the streams yet; retrying'),
    }).catch((error: unknown) => {
      if (!abort.signal.aborted) logger.error({ err: describeError(error) }, 'loading the streams failed');
    });
  }

  /** Stops answering, waits for the writes under way, forgets everything. */
  async stop(): Promise<void> {
    this.term++;
    this.loaded = false;
    this.abort?.abort(new Error('stream registry stopping'));
    await this.loading;
    await Promise.allSettled([...this.tails.values()]);
    this.specs.clear();
    this.statuses.clear();
  }

  /** True once wharf.streams was read to its end in this term. */
  ready(): boolean {
    return this.loaded;
  }

  /** Resolves when the term's load has finished, or was given up at stop (tests). */
  async settled(): Promise<void> {
    await this.loading;
  }

  private async load(term: number): Promise<void> {
    const specs = new Map<string, StreamSpec>();
    await this.options.log.load((id, spec) => {
      if (spec) specs.set(id, spec);
      else specs.delete(id);
    });
    if (term !== this.term) return;
    for (const [id, spec] of specs) this.specs.set(id, spec);
    this.loaded = true;
    this.options.logger.info({ streams: specs.size }, 'streams loaded');
  }

  private requireLoaded(): void {
    if (!this.loaded) throw new UnavailableError('the scheduler is still loading the streams (wharf.streams); retry');
  }

  /** Runs `task` after every earlier task of the same stream id has finished. */
  private serialized<T>(id: string, task: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(id) ?? Promise.resolve()).catch(() => undefined).then(task);
    this.tails.set(id, next);
    const forget = (): void => {
      if (this.tails.get(id) === next) this.tails.delete(id);
    };
    next.then(forget, forget);
    return next;
  }

  /** Writes `spec` (null: deletes) and applies it to memory once acknowledged. */
  private async write(id: string, spec: StreamSpec | null): Promise<void> {
    const term = this.term;
    await this.options.log.write(id, spec);
    if (term !== this.term) return;
    if (spec) this.specs.set(id, spec);
    else {
      this.specs.delete(id);
      this.statuses.delete(id);
    }
  }

  private owned(tenant: string, id: string): StreamSpec {
    this.requireLoaded();
    const spec = this.specs.get(id);
    if (!spec) throw new NotFoundError(`no stream '${id}'`);
    if (spec.tenant !== tenant) throw new PermissionDeniedError(`stream '${id}' belongs to another tenant`);
    return spec;
  }

  private view(spec: StreamSpec): Stream {
    return { spec: redactStreamSpec(spec), status: this.statuses.get(spec.streamId) };
  }

  private validate(spec: StreamSpec, extra: readonly Violation[] = []): void {
    const problems: Violation[] = [...extra];
    try {
      toStreamDefinition(spec, this.options.defaults);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      problems.push(...error.violations);
    }
    const bytes = StreamSpec.encode(spec).finish().length;
    if (bytes > MAX_STREAM_SPEC_BYTES) problems.push({ field: 'spec', description: `is ${bytes} bytes encoded; at most ${MAX_STREAM_SPEC_BYTES}` });
    if (problems.length > 0) throw new InvalidArgumentError('invalid stream spec', problems, { context: { streamId: spec.streamId } });
  }

  /**
   * Creates a stream owned by `tenant` (spec.tenant is ignored), generation 1, RUNNING unless
   * the spec says PAUSED. The same definition again returns the stream as it is (a retry);
   * another definition under the same id is ALREADY_EXISTS.
   */
  create(tenant: string, requested: StreamSpec | undefined): Promise<CreateOutcome> {
    if (!requested) return Promise.reject(new InvalidArgumentError('invalid stream spec', [{ field: 'spec', description: 'is required' }]));
    const given: StreamSpec = {
      ...requested,
      tenant,
      generation: 1,
      desiredState: requested.desiredState || StreamDesiredState.STREAM_DESIRED_STATE_RUNNING,
    };
    const id = given.streamId;
    return this.serialized(id, async () => {
      this.requireLoaded();
      const existing = this.specs.get(id);
      if (existing && existing.tenant !== tenant) throw new PermissionDeniedError(`stream '${id}' belongs to another tenant`);
      this.validate(given, placeholderViolations(given));
      const spec = sealStreamSecrets(given, this.options.sealer);
      if (existing) {
        if (sameSpec(existing, spec, false)) return { stream: this.view(existing), created: false };
        throw new AlreadyExistsError(`stream '${id}' already exists with another spec (UpdateStream changes it)`);
      }
      await this.write(id, spec);
      return { stream: this.view(spec), created: true };
    });
  }

  /**
   * Replaces the definition of the caller's stream: generation + 1. An unspecified desired
   * state keeps the current one; a secret given as '[redacted]' keeps the stored one. The same
   * definition again changes nothing.
   */
  update(tenant: string, requested: StreamSpec | undefined): Promise<Stream> {
    if (!requested) return Promise.reject(new InvalidArgumentError('invalid stream spec', [{ field: 'spec', description: 'is required' }]));
    const id = requested.streamId;
    return this.serialized(id, async () => {
      const existing = this.owned(tenant, id);
      const restored = restoreSecrets(requested, existing);
      const given: StreamSpec = {
        ...restored,
        tenant,
        generation: existing.generation + 1,
        desiredState: restored.desiredState || existing.desiredState,
      };
      this.validate(given, placeholderViolations(given));
      const spec = sealStreamSecrets(given, this.options.sealer);
      if (sameSpec(existing, spec, true)) return this.view(existing);
      await this.write(id, spec);
      return this.view(spec);
    });
  }

  /** Sets the desired state (generation + 1); already in that state: unchanged. */
  setDesiredState(tenant: string, id: string, paused: boolean): Promise<Stream> {
    return this.serialized(id, async () => {
      const existing = this.owned(tenant, id);
      if (isPaused(existing) === paused) return this.view(existing);
      const spec: StreamSpec = {
        ...existing,
        generation: existing.generation + 1,
        desiredState: paused ? StreamDesiredState.STREAM_DESIRED_STATE_PAUSED : StreamDesiredState.STREAM_DESIRED_STATE_RUNNING,
      };
      await this.write(id, spec);
      return this.view(spec);
    });
  }

  /** Deletes the caller's stream (a tombstone on wharf.streams); returns it as it was last. */
  delete(tenant: string, id: string): Promise<Stream> {
    return this.serialized(id, async () => {
      const existing = this.owned(tenant, id);
      const last = this.view(existing);
      await this.write(id, null);
      return last;
    });
  }

  get(tenant: string, id: string): Stream {
    return this.view(this.owned(tenant, id));
  }

  /** The caller's streams, by id. */
  list(tenant: string): Stream[] {
    this.requireLoaded();
    return [...this.specs.values()]
      .filter((spec) => spec.tenant === tenant)
      .sort((a, b) => a.streamId.localeCompare(b.streamId))
      .map((spec) => this.view(spec));
  }

  /** The latest status stream-ingest reported. Thrown: NotFoundError when there is none yet. */
  stats(tenant: string, id: string): StreamStatus {
    this.owned(tenant, id);
    const status = this.statuses.get(id);
    if (!status) {
      throw new NotFoundError(
        `stream '${id}' has no status yet: stream-ingest reports one every few seconds once it runs the stream (is stream-ingest running?)`,
      );
    }
    return status;
  }

  /**
   * A status from wharf.streams.status. The newest (by updated_at) per stream is kept;
   * `stopped` (reported after a delete) removes it, since a deleted stream has no stats.
   */
  observeStatus(status: StreamStatus): void {
    const id = status.streamId;
    if (id === '') return;
    if (status.state === 'stopped') {
      this.statuses.delete(id);
      return;
    }
    const known = this.statuses.get(id);
    if (known?.updatedAt && status.updatedAt && known.updatedAt.getTime() > status.updatedAt.getTime()) return;
    this.statuses.delete(id);
    this.statuses.set(id, status);
    const max = this.options.maxStatuses ?? 10_000;
    for (const oldest of this.statuses.keys()) {
      if (this.statuses.size <= max) break;
      this.statuses.delete(oldest);
    }
  }
}

/** Decodes a wharf.streams.status record; undefined when it does not decode. */
export function decodeStreamStatus(value: Buffer | null, headers: Parameters<typeof contentTypeOf>[0]): StreamStatus | undefined {
  if (value === null || value.length === 0) return undefined;
  try {
    return decodeMessage(StreamStatus, 'StreamStatus', value, contentTypeOf(headers, value));
  } catch {
    return undefined;
  }
}
