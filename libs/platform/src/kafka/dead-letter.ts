import { DecodeError, RecordHeaders } from '@wharf/contracts';
import { isRetriable } from '../errors';
import type { KafkaRecord, ProducerRecord } from './kafka-record';

/** DLQ error headers are capped: a handler error can be arbitrarily long. */
const maxErrorHeaderBytes = 4096;

/**
 * A record is poison when trying it again cannot succeed: it does not decode, or its handler
 * failed with a non-retriable error (InvalidArgumentError, a programming error, …).
 * Retriable failures are never poison: the pipeline retries them until they pass.
 */
export function isPoison(error: unknown): boolean {
  return error instanceof DecodeError || !isRetriable(error);
}

/**
 * The DLQ copy of a poison record: same key, value and headers, plus the error (message and
 * class) and where the record came from.
 */
export function deadLetterRecord(record: KafkaRecord, error: unknown): ProducerRecord {
  const headers: Record<string, string | Buffer | (string | Buffer)[]> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (value !== undefined) headers[name] = value;
  }
  const message = error instanceof Error ? error.message : String(error);
  headers[RecordHeaders.error] = truncateUtf8(message, maxErrorHeaderBytes);
  headers[RecordHeaders.errorType] = error instanceof Error ? error.name : typeof error;
  headers[RecordHeaders.originalTopic] = record.topic;
  headers[RecordHeaders.originalPartition] = String(record.partition);
  headers[RecordHeaders.originalOffset] = record.offset;
  return { key: record.key, value: record.value, headers };
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // Cutting may split a character; toString replaces the fragment, which is fine for a message.
  return `${bytes.subarray(0, maxBytes - 3).toString('utf8')}...`;
}
