import { WireType } from '@bufbuild/protobuf/wire';
import { JobState, type JobRecord } from '@wharf/contracts';

/**
 * The fields of a stored job the store's indexes and filters need, read from its protobuf
 * bytes without decoding the rest (spec items, env, inputs, runs): a restore of a million
 * records decodes each job only when something asks for it.
 */
export interface JobSummary {
  readonly tenant: string;
  readonly state: JobState;
  readonly queue: string;
  readonly namespace: string;
  readonly priority: number;
  readonly cpu: string;
  readonly memory: string;
  readonly gpu: number;
  readonly parallelism: number;
  /** 0 when unset. */
  readonly createdAtMs: number;
  /** finishedAt, else updatedAt, in ms; 0 when neither is set. */
  readonly finishedOrUpdatedAtMs: number;
}

// Field numbers of wharf.v1.JobRecord, JobSpec, Resources and google.protobuf.Timestamp (jobs.proto).
const RECORD_TENANT = 2;
const RECORD_SPEC = 3;
const RECORD_STATE = 5;
const RECORD_CREATED_AT = 11;
const RECORD_UPDATED_AT = 12;
const RECORD_FINISHED_AT = 14;
const SPEC_NAMESPACE = 2;
const SPEC_QUEUE = 3;
const SPEC_PRIORITY = 4;
const SPEC_RESOURCES = 13;
const SPEC_PARALLELISM = 14;
const RESOURCES_CPU = 1;
const RESOURCES_MEMORY = 2;
const RESOURCES_GPU = 3;

/**
 * A minimal protobuf scanner over `bytes` (no allocation per field, unlike BinaryReader's
 * tag()/string()/int64(): the restore runs this once per changelog record).
 */
class Scanner {
  pos = 0;
  private readonly decoder = new TextDecoder();
  constructor(private readonly bytes: Uint8Array) {}

  /** A varint as a number (exact up to 2^53; the fields read here are far below). */
  varint(): number {
    const bytes = this.bytes;
    let result = 0;
    let multiplier = 1;
    for (;;) {
      if (this.pos >= bytes.length) throw new RangeError('premature end of a varint');
      const byte = bytes[this.pos++] as number;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
      if (multiplier > 2 ** 70) throw new RangeError('varint too long');
    }
  }

  /** An int32 field: the low 32 bits of the varint (negative values are 10-byte varints). */
  int32(): number {
    const bytes = this.bytes;
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= bytes.length || shift >= 70) throw new RangeError('bad varint');
      const byte = bytes[this.pos++] as number;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result | 0;
    }
  }

  string(): string {
    const end = this.end();
    const bytes = this.bytes;
    const start = this.pos;
    this.pos = end;
    // Short ASCII strings (names, queues, quantities) without the TextDecoder round trip.
    if (end - start <= 32) {
      let text = '';
      for (let i = start; i < end; i++) {
        const c = bytes[i] as number;
        if (c >= 0x80) return this.decoder.decode(bytes.subarray(start, end));
        text += String.fromCharCode(c);
      }
      return text;
    }
    return this.decoder.decode(bytes.subarray(start, end));
  }

  /** Reads a length prefix; returns where the length-delimited value ends. */
  end(): number {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.bytes.length) throw new RangeError('length-delimited field past the end');
    return end;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Bit64:
        this.pos += 8;
        return;
      case WireType.LengthDelimited:
        this.pos = this.end();
        return;
      case WireType.Bit32:
        this.pos += 4;
        return;
      default:
        throw new RangeError(`cannot skip wire type ${wireType}`);
    }
  }

  timestampMs(): number {
    const end = this.end();
    let seconds = 0;
    let nanos = 0;
    while (this.pos < end) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (field === 1 && wireType === WireType.Varint) seconds = this.varint();
      else if (field === 2 && wireType === WireType.Varint) nanos = this.int32();
      else this.skip(wireType);
    }
    return seconds * 1_000 + Math.floor(nanos / 1_000_000);
  }
}

/**
 * Reads the summary of a protobuf-encoded JobRecord. Unknown fields are skipped, like the full
 * decoder does. Thrown: RangeError on malformed bytes.
 */
export function summarizeJobRecord(bytes: Uint8Array): JobSummary {
  const reader = new Scanner(bytes);
  let tenant = '';
  let state: JobState = JobState.JOB_STATE_UNSPECIFIED;
  let queue = '';
  let namespace = '';
  let priority = 0;
  let cpu = '';
  let memory = '';
  let gpu = 0;
  let parallelism = 0;
  let createdAtMs = 0;
  let updatedAtMs = 0;
  let finishedAtMs = 0;
  const length = bytes.length;
  while (reader.pos < length) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === WireType.LengthDelimited && field === RECORD_TENANT) tenant = reader.string();
    else if (wireType === WireType.Varint && field === RECORD_STATE) state = reader.int32() as JobState;
    else if (wireType === WireType.LengthDelimited && field === RECORD_CREATED_AT) createdAtMs = reader.timestampMs();
    else if (wireType === WireType.LengthDelimited && field === RECORD_UPDATED_AT) updatedAtMs = reader.timestampMs();
    else if (wireType === WireType.LengthDelimited && field === RECORD_FINISHED_AT) finishedAtMs = reader.timestampMs();
    else if (wireType === WireType.LengthDelimited && field === RECORD_SPEC) {
      const specEnd = reader.end();
      while (reader.pos < specEnd) {
        const specTag = reader.varint();
        const f = Math.floor(specTag / 8);
        const w = specTag & 7;
        if (w === WireType.LengthDelimited && f === SPEC_NAMESPACE) namespace = reader.string();
        else if (w === WireType.LengthDelimited && f === SPEC_QUEUE) queue = reader.string();
        else if (w === WireType.Varint && f === SPEC_PRIORITY) priority = reader.int32();
        else if (w === WireType.Varint && f === SPEC_PARALLELISM) parallelism = reader.int32();
        else if (w === WireType.LengthDelimited && f === SPEC_RESOURCES) {
          const resourcesEnd = reader.end();
          while (reader.pos < resourcesEnd) {
            const resourcesTag = reader.varint();
            const rf = Math.floor(resourcesTag / 8);
            const rw = resourcesTag & 7;
            if (rw === WireType.LengthDelimited && rf === RESOURCES_CPU) cpu = reader.string();
            else if (rw === WireType.LengthDelimited && rf === RESOURCES_MEMORY) memory = reader.string();
            else if (rw === WireType.Varint && rf === RESOURCES_GPU) gpu = reader.int32();
            else reader.skip(rw);
          }
        } else reader.skip(w);
      }
    } else reader.skip(wireType);
  }
  return {
    tenant,
    state,
    queue,
    namespace,
    priority,
    cpu,
    memory,
    gpu,
    parallelism,
    createdAtMs,
    finishedOrUpdatedAtMs: finishedAtMs || updatedAtMs,
  };
}

/** The same fields, from a decoded record. */
export function summarizeRecord(record: JobRecord): JobSummary {
  const spec = record.spec;
  return {
    tenant: record.tenant,
    state: record.state,
    queue: spec?.queue ?? '',
    namespace: spec?.namespace ?? '',
    priority: spec?.priority ?? 0,
    cpu: spec?.resources?.cpu ?? '',
    memory: spec?.resources?.memory ?? '',
    gpu: spec?.resources?.gpu ?? 0,
    parallelism: spec?.parallelism ?? 0,
    createdAtMs: record.createdAt?.getTime() ?? 0,
    finishedOrUpdatedAtMs: (record.finishedAt ?? record.updatedAt)?.getTime() ?? 0,
  };
}
