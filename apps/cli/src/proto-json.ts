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
import { CliError, ExitCodes } from './cli-errors';

/**
 * The proto3 JSON mapping of Wharf's messages, from the descriptor set in @wharf/contracts:
 * strict on input (unknown keys and wrong types are errors naming the field; snake_case and
 * camelCase both accepted; enums by name) and canonical on output (enum names, RFC 3339 times,
 * camelCase keys), exactly what grpcurl and the Kafka command topic use.
 */
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64')),
);

function descriptor(typeName: string) {
  const desc = registry.getMessage(typeName);
  if (!desc) throw new Error(`unknown message type ${typeName}`);
  return desc;
}

/** Parses a proto3 JSON value into a ts-proto message. Thrown: CliError naming `source`. */
export function messageFromJson<T>(
  type: MessageType<T>,
  typeName: string,
  json: unknown,
  source: string,
): T {
  const desc = descriptor(typeName);
  try {
    const message = fromJson(desc, json as JsonValue, { registry });
    return type.decode(toBinary(desc, message));
  } catch (error) {
    const reason = (error as Error).message.replace(/^cannot decode (message|field) /, '');
    throw new CliError(`${source}: ${reason}`, ExitCodes.usage, { cause: error });
  }
}

/** The canonical proto3 JSON of a ts-proto message. */
export function messageToJson<T>(type: MessageType<T>, typeName: string, message: T): JsonValue {
  const desc = descriptor(typeName);
  return toJson(desc, fromBinary(desc, type.encode(message).finish()), { registry });
}
