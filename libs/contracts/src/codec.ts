import { BinaryWriter, type BinaryReader } from '@bufbuild/protobuf/wire';
import { ContentTypes, RecordHeaders, type ContentType } from './topics';

/** What ts-proto generates for every message: the binary and proto3 JSON codecs. */
export interface MessageType<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
  // ts-proto's generated signature takes `any`; we only ever pass parsed JSON objects.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fromJSON(object: any): T;
  toJSON(message: T): unknown;
}

/**
 * Thrown when a record or request body cannot be decoded as the expected message: invalid
 * JSON, JSON that is not an object, or protobuf bytes that do not parse. Never retriable.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/**
 * The content type of a record: its `content-type` header when present; otherwise sniffed.
 * A record whose first non-blank byte is `{` is JSON: in protobuf that byte would start a
 * group (wire type 3), which proto3 never writes, so the guess cannot misread binary.
 */
export function contentTypeOf(
  headers: Record<string, HeaderValue> | undefined,
  value: Uint8Array,
): ContentType {
  const raw = headers?.[RecordHeaders.contentType];
  const header = (Array.isArray(raw) ? raw[0] : raw)?.toString().split(';')[0]?.trim().toLowerCase();
  if (header === ContentTypes.json) return ContentTypes.json;
  if (header === ContentTypes.protobuf) return ContentTypes.protobuf;
  for (const byte of value) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b ? ContentTypes.json : ContentTypes.protobuf;
  }
  return ContentTypes.protobuf;
}

/**
 * One writer for every protobuf encode: encoding is synchronous, and a fresh writer would grow
 * its buffer from 1 KiB by copies on each message. finish() copies the bytes out and resets it.
 */
const sharedWriter = new BinaryWriter();

/** Encodes a message as protobuf binary, into a Uint8Array of exactly its size. */
export function encodeProtobuf<T>(type: MessageType<T>, message: T): Uint8Array {
  try {
    return type.encode(message, sharedWriter).finish();
  } catch (error) {
    sharedWriter.finish(); // drops what the failed encode wrote
    throw error;
  }
}

/** Encodes a message as protobuf binary (default) or proto3 JSON. */
export function encodeMessage<T>(
  type: MessageType<T>,
  message: T,
  contentType: ContentType = ContentTypes.protobuf,
): Buffer {
  if (contentType === ContentTypes.json) {
    return Buffer.from(JSON.stringify(type.toJSON(message)));
  }
  const bytes = encodeProtobuf(type, message);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a message. Unknown fields are skipped in both encodings, so older readers accept
 * newer writers. Thrown: {@link DecodeError} naming the message type and what was wrong.
 */
export function decodeMessage<T>(
  type: MessageType<T>,
  typeName: string,
  value: Uint8Array,
  contentType: ContentType,
): T {
  if (contentType === ContentTypes.json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(value).toString('utf8'));
    } catch (error) {
      throw new DecodeError(`${typeName}: invalid JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new DecodeError(`${typeName}: expected a JSON object, got ${describe(parsed)}`);
    }
    try {
      return type.fromJSON(parsed);
    } catch (error) {
      throw new DecodeError(`${typeName}: ${(error as Error).message}`, { cause: error });
    }
  }
  try {
    return type.decode(value);
  } catch (error) {
    throw new DecodeError(`${typeName}: invalid protobuf: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
