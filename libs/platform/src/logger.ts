import pino, { type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Fixed field names, so every service's logs can be queried the same way. Messages are
 * constant sentences; variable facts go in these fields.
 */
export const LogFields = {
  service: 'service',
  jobId: 'jobId',
  run: 'run',
  workflowId: 'workflowId',
  streamId: 'streamId',
  topic: 'topic',
  partition: 'partition',
  offset: 'offset',
  namespace: 'namespace',
  pod: 'pod',
  tenant: 'tenant',
  err: 'err',
} as const;

/**
 * Paths whose values never reach a log line, wherever they appear one or two levels deep.
 * A defence in depth: code must not log secrets in the first place.
 */
const redactedPaths = [
  'token',
  'password',
  'secret',
  'secretAccessKey',
  'authorization',
  'bearerToken',
  '*.token',
  '*.password',
  '*.secret',
  '*.secretAccessKey',
  '*.authorization',
  '*.bearerToken',
  '*.*.token',
  '*.*.bearerToken',
  '*.*.secretAccessKey',
];

export interface LoggerOptions {
  readonly service: string;
  /** trace | debug | info | warn | error | fatal | silent. @default 'info' */
  readonly level?: string;
  /** Where lines go. @default stdout */
  readonly destination?: pino.DestinationStream;
}

/** A JSON logger with Wharf's fixed fields and secret redaction. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { [LogFields.service]: options.service },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination,
  );
}
