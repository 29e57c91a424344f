import {
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type JsonValue,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { descriptorSetBase64, type MessageType } from '@wharf/contracts';

/**
 * The proto3 JSON mapping of Wharf's messages, from the descriptor set in @wharf/contracts —
 * the mapping grpcurl and the Kafka command topic use: strict on input (unknown keys and wrong
 * types are errors naming the field; snake_case and camelCase both accepted; enums by name),
 * canonical on output (enum names, RFC 3339 times, 64-bit integers as strings, camelCase keys).
 */
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64')),
);

function descriptor(typeName: string) {
  const desc = registry.getMessage(typeName);
  if (!desc) throw new Error(`unknown message type ${typeName}`);
  return desc;
}

/** Parses a proto3 JSON value into a ts-proto message. Thrown: Error whose message is the reason. */
export function messageFromJson<T>(type: MessageType<T>, typeName: string, json: unknown): T {
  const desc = descriptor(typeName);
  try {
    const message = fromJson(desc, json as JsonValue, { registry });
    return type.decode(toBinary(desc, message));
  } catch (error) {
    throw new Error((error as Error).message.replace(/^cannot decode (message|field) /, ''), {
      cause: error,
    });
  }
}

export interface ToJsonOptions {
  /** Emit every scalar, defaults included (`succeeded: false`, `exitCode: 0`). Default false. */
  readonly emitDefaults?: boolean;
}

/** The proto3 JSON of a ts-proto message. */
export function messageToJson<T>(
  type: MessageType<T>,
  typeName: string,
  message: T,
  options: ToJsonOptions = {},
): JsonValue {
  const desc = descriptor(typeName);
  return toJson(desc, fromBinary(desc, type.encode(message).finish()), {
    registry,
    alwaysEmitImplicit: options.emitDefaults ?? false,
  });
}
