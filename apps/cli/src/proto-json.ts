import { messageFromJson as parse, messageToJson } from '@wharf/client';
import type { MessageType } from '@wharf/contracts';
import { CliError, ExitCodes } from './cli-errors';

export { messageToJson };

/** Parses a proto3 JSON value into a ts-proto message. Thrown: CliError naming `source`. */
export function messageFromJson<T>(
  type: MessageType<T>,
  typeName: string,
  json: unknown,
  source: string,
): T {
  try {
    return parse(type, typeName, json);
  } catch (error) {
    throw new CliError(`${source}: ${(error as Error).message}`, ExitCodes.usage, { cause: error });
  }
}
