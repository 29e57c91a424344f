import { StreamDesiredState, type Processor, type StreamSpec } from '@wharf/contracts';
import { InvalidArgumentError, type Violation } from '@wharf/platform';
import { z } from 'zod';

/**
 * Streams declared in stream-ingest's own YAML config (`streams:`), for a standalone
 * deployment without the scheduler — EDNA's "one YAML file configures the job" mode. The shape
 * is the StreamSpec's, in camelCase, with strict keys so a typo is an error, not a silently
 * ignored setting. `bearerTokenFile` reads the token from a file (a mounted Secret), so it
 * never sits in the config itself.
 */
const headers = z.record(z.string(), z.string()).default({});

const httpSource = z.strictObject({
  url: z.string().describe('The streaming endpoint (GET).'),
  format: z.enum(['ndjson', 'sse']).default('ndjson'),
  headers,
  bearerToken: z.string().optional().describe('Sent as "Authorization: Bearer …"; prefer bearerTokenFile.'),
  bearerTokenFile: z.string().optional().describe('A file holding the bearer token (e.g. a mounted Secret).'),
});

const source = z.strictObject({
  http: httpSource.optional(),
  webhook: z.strictObject({ path: z.string() }).optional(),
  kafka: z.strictObject({ topic: z.string(), groupId: z.string().optional() }).optional(),
  generator: z
    .strictObject({
      rate: z.number().min(0).default(0),
      count: z.number().int().min(0).default(0),
      template: z.string().optional(),
    })
    .optional(),
});

const processor = z.strictObject({
  parseJson: z.boolean().optional(),
  filter: z.string().optional(),
  map: z.string().optional(),
  key: z.string().optional(),
  rateLimit: z.number().optional(),
});

export const standaloneStreamSchema = z.strictObject({
  id: z.string(),
  tenant: z.string().default('default'),
  paused: z.boolean().default(false),
  source,
  processors: z.array(processor).default([]),
  sink: z.strictObject({
    topic: z.string(),
    serializer: z.enum(['bytes', 'text', 'json']).optional(),
    headers,
    compression: z.enum(['none', 'gzip']).optional(),
    dlqTopic: z.string().optional(),
  }),
  limits: z
    .strictObject({
      maxInFlightRecords: z.number().int().positive().optional(),
      maxInFlightBytes: z.number().int().positive().optional(),
    })
    .optional(),
});
export type StandaloneStream = z.infer<typeof standaloneStreamSchema>;

/**
 * The StreamSpecs of the config's `streams:` list (generation 1; desired state from `paused`).
 * Thrown: {@link InvalidArgumentError} listing every problem (duplicate ids, unreadable token
 * files), with `streams[i].…` paths.
 */
export function standaloneSpecs(
  streams: readonly StandaloneStream[],
  readFile: (path: string) => string,
): StreamSpec[] {
  const problems: Violation[] = [];
  const seen = new Set<string>();
  const specs = streams.map((stream, i): StreamSpec => {
    if (seen.has(stream.id)) problems.push({ field: `streams[${i}].id`, description: `duplicate stream id '${stream.id}'` });
    seen.add(stream.id);
    const http = stream.source.http;
    let bearerToken = http?.bearerToken ?? '';
    if (http?.bearerTokenFile) {
      try {
        bearerToken = readFile(http.bearerTokenFile).trim();
      } catch (error) {
        problems.push({
          field: `streams[${i}].source.http.bearerTokenFile`,
          description: `cannot read the token file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        });
      }
    }
    const g = stream.source.generator;
    return {
      streamId: stream.id,
      tenant: stream.tenant,
      source: {
        http: http ? { url: http.url, format: http.format, headers: http.headers, bearerToken } : undefined,
        webhook: stream.source.webhook,
        kafka: stream.source.kafka ? { topic: stream.source.kafka.topic, groupId: stream.source.kafka.groupId ?? '' } : undefined,
        generator: g ? { rate: g.rate, count: g.count, template: g.template ?? '' } : undefined,
      },
      processors: stream.processors.map((p): Processor => ({ ...p })),
      sink: {
        topic: stream.sink.topic,
        serializer: stream.sink.serializer ?? '',
        headers: stream.sink.headers,
        compression: stream.sink.compression ?? '',
        dlqTopic: stream.sink.dlqTopic ?? '',
      },
      limits: stream.limits
        ? { maxInFlightRecords: stream.limits.maxInFlightRecords ?? 0, maxInFlightBytes: stream.limits.maxInFlightBytes ?? 0 }
        : undefined,
      desiredState: stream.paused
        ? StreamDesiredState.STREAM_DESIRED_STATE_PAUSED
        : StreamDesiredState.STREAM_DESIRED_STATE_RUNNING,
      generation: 1,
    };
  });
  if (problems.length > 0) throw new InvalidArgumentError('invalid streams in the config', problems);
  return specs;
}
