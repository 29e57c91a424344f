import {
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type JsonObject,
  type JsonValue,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { descriptorSetBase64, type MessageType } from '@wharf/contracts';

/**
 * The proto3 JSON mapping of Wharf's messages, from the descriptor set in @wharf/contracts
 * (the same mapping the CLI and grpcurl use): strict on input — unknown keys and wrong types
 * are errors naming the field; snake_case and camelCase both accepted; enums by name.
 */
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64')),
);

function descriptor(typeName: string) {
  const desc = registry.getMessage(typeName);
  if (!desc) throw new Error(`unknown message type ${typeName}`);
  return desc;
}

/** Parses a proto3 JSON value into a ts-proto message. Thrown: Error with the reason. */
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

/**
 * The proto3 JSON of a ts-proto message with every scalar present (defaults included), so a
 * scenario can expect `succeeded: false` or `exitCode: 0`. Enums by full name
 * (`RUN_STATE_FAILED`), 64-bit integers as strings, camelCase keys.
 */
export function messageToJson<T>(type: MessageType<T>, typeName: string, message: T): JsonObject {
  const desc = descriptor(typeName);
  return toJson(desc, fromBinary(desc, type.encode(message).finish()), {
    registry,
    alwaysEmitImplicit: true,
  }) as JsonObject;
}
