import { RecordRejectedError } from './stream-errors';

/** How a record's value becomes the bytes of the Kafka record. */
export const Serializers = {
  /** The value as it is: raw bytes, or a string as UTF-8. Objects are rejected. */
  bytes: 'bytes',
  /** UTF-8 text: raw bytes must be valid UTF-8; numbers and booleans are written as text. */
  text: 'text',
  /** JSON: values are written with JSON.stringify; raw bytes must already be valid JSON. */
  json: 'json',
} as const;
export type SerializerName = (typeof Serializers)[keyof typeof Serializers];

export const serializerNames: readonly string[] = Object.values(Serializers);

export function isSerializerName(name: string): name is SerializerName {
  return serializerNames.includes(name);
}

export type RecordSerializer = (value: unknown) => Buffer;

const STEP = 'sink.serializer';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new RecordRejectedError(
    `the bytes serializer needs raw bytes or a string, got ${value === null ? 'null' : typeof value} (use serializer json)`,
    STEP,
  );
}

function text(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) {
    try {
      utf8.decode(value);
    } catch {
      throw new RecordRejectedError('the text serializer got bytes that are not valid UTF-8', STEP);
    }
    return value;
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return Buffer.from(String(value), 'utf8');
  throw new RecordRejectedError(
    `the text serializer needs text, got ${value === null ? 'null' : typeof value} (use serializer json)`,
    STEP,
  );
}

function json(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) {
    // Raw bytes pass through unchanged (no re-encoding), after checking they are JSON.
    try {
      JSON.parse(value.toString('utf8'));
    } catch (error) {
      throw new RecordRejectedError(`the json serializer got bytes that are not JSON: ${(error as Error).message}`, STEP);
    }
    return value;
  }
  const encoded = JSON.stringify(value);
  if (encoded === undefined) throw new RecordRejectedError(`the json serializer cannot encode ${typeof value}`, STEP);
  return Buffer.from(encoded, 'utf8');
}

const serializers: Readonly<Record<SerializerName, RecordSerializer>> = { bytes, text, json };

/** The serializer called `name`. */
export function serializerFor(name: SerializerName): RecordSerializer {
  return serializers[name];
}
