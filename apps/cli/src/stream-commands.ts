import type { Command } from 'commander';
import {
  ListStreamsResponse,
  Stream,
  StreamSpec,
  StreamStatus,
  streamDesiredStateToJSON,
} from '@wharf/contracts';
import { CliError, ExitCodes } from './cli-errors';
import { collect, type ContextFactory } from './cli-context';
import { action } from './job-commands';
import { parseSpecFile } from './job-spec-builder';
import { formatData, formatTable, shortEnum } from './output-format';
import { messageFromJson, messageToJson } from './proto-json';
import type { WharfApi } from './wharf-api';

export interface StreamFlags {
  file?: string;
  id?: string;
  http?: string;
  format?: string;
  header?: string[];
  bearerTokenEnv?: string;
  webhook?: string;
  kafkaTopic?: string;
  generator?: string;
  rate?: string;
  count?: string;
  parseJson?: boolean;
  filter?: string;
  map?: string;
  key?: string;
  rateLimit?: string;
  sinkTopic?: string;
  serializer?: string;
  paused?: boolean;
}

/**
 * The StreamSpec for `wharf stream create`: a file, or flags. With flags, processors run in
 * this order: parse-json, filter, map, key, rate-limit (write a file for any other order).
 */
export function buildStreamSpec(
  flags: StreamFlags,
  readFile: (p: string) => string,
  env: Readonly<Record<string, string | undefined>>,
): StreamSpec {
  const spec: Record<string, unknown> = flags.file
    ? parseSpecFile(readFile(flags.file), flags.file)
    : {};
  if (flags.id) spec['streamId'] = flags.id;
  const sources = [flags.http, flags.webhook, flags.kafkaTopic, flags.generator].filter(
    (s) => s !== undefined,
  );
  if (sources.length > 1)
    throw new CliError(
      'give one source: --http, --webhook, --kafka-topic or --generator',
      ExitCodes.usage,
    );
  if (flags.http !== undefined) {
    const headers = Object.fromEntries(
      (flags.header ?? []).map((h) => {
        const at = h.indexOf('=');
        if (at <= 0) throw new CliError(`--header expects Name=value, got '${h}'`, ExitCodes.usage);
        return [h.slice(0, at), h.slice(at + 1)];
      }),
    );
    let bearerToken: string | undefined;
    if (flags.bearerTokenEnv) {
      bearerToken = env[flags.bearerTokenEnv];
      if (bearerToken === undefined)
        throw new CliError(
          `--bearer-token-env: ${flags.bearerTokenEnv} is not set in this shell`,
          ExitCodes.usage,
        );
    }
    spec['source'] = {
      http: {
        url: flags.http,
        format: flags.format ?? 'ndjson',
        headers,
        ...(bearerToken ? { bearerToken } : {}),
      },
    };
  } else if (flags.webhook !== undefined) spec['source'] = { webhook: { path: flags.webhook } };
  else if (flags.kafkaTopic !== undefined) spec['source'] = { kafka: { topic: flags.kafkaTopic } };
  else if (flags.generator !== undefined) {
    spec['source'] = {
      generator: {
        template: flags.generator,
        rate: flags.rate ? Number(flags.rate) : 0,
        count: flags.count ? Number(flags.count) : 0,
      },
    };
  }
  const processors: unknown[] = [];
  if (flags.parseJson) processors.push({ parseJson: true });
  if (flags.filter) processors.push({ filter: flags.filter });
  if (flags.map) processors.push({ map: flags.map });
  if (flags.key) processors.push({ key: flags.key });
  if (flags.rateLimit) processors.push({ rateLimit: Number(flags.rateLimit) });
  if (processors.length) spec['processors'] = processors;
  if (flags.sinkTopic || flags.serializer) {
    const current = (
      spec['sink'] && typeof spec['sink'] === 'object' ? spec['sink'] : {}
    ) as Record<string, unknown>;
    spec['sink'] = {
      ...current,
      ...(flags.sinkTopic ? { topic: flags.sinkTopic } : {}),
      ...(flags.serializer ? { serializer: flags.serializer } : {}),
    };
  }
  if (flags.paused) spec['desiredState'] = 'STREAM_DESIRED_STATE_PAUSED';
  const message = messageFromJson(
    StreamSpec,
    'wharf.v1.StreamSpec',
    spec,
    flags.file ?? 'stream spec',
  );
  const problems: string[] = [];
  if (!message.streamId) problems.push('a stream id is required (--id or `streamId:` in the file)');
  if (!message.source)
    problems.push('a source is required (--http, --webhook, --kafka-topic or --generator)');
  if (!message.sink?.topic)
    problems.push('a sink topic is required (--sink-topic or `sink.topic:`)');
  if (problems.length)
    throw new CliError(
      `cannot create the stream:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      ExitCodes.usage,
    );
  return message;
}

function sourceOf(spec: StreamSpec | undefined): string {
  const s = spec?.source;
  if (s?.http) return `http ${s.http.url}`;
  if (s?.webhook) return `webhook /ingest/${s.webhook.path}`;
  if (s?.kafka) return `kafka ${s.kafka.topic}`;
  if (s?.generator) return `generator${s.generator.rate ? ` ${s.generator.rate}/s` : ''}`;
  return '-';
}

export function streamsTable(streams: readonly Stream[]): string {
  return formatTable(
    ['STREAM', 'DESIRED', 'STATE', 'SOURCE', 'SINK', 'IN', 'OUT', 'ERRORS', 'DLQ', 'LAG'],
    streams.map((s) => [
      s.spec?.streamId ?? '-',
      shortEnum(streamDesiredStateToJSON(s.spec?.desiredState ?? 0), 'STREAM_DESIRED_STATE_'),
      s.status?.state || '-',
      sourceOf(s.spec),
      s.spec?.sink?.topic ?? '-',
      String(s.status?.recordsIn ?? 0),
      String(s.status?.recordsOut ?? 0),
      String(s.status?.errors ?? 0),
      String(s.status?.dlq ?? 0),
      String(s.status?.lag ?? 0),
    ]),
  );
}

export function registerStreamCommands(program: Command, contexts: ContextFactory): void {
  const stream = program
    .command('stream')
    .summary('define and operate streams (source → processors → Kafka)');

  stream
    .command('create')
    .summary('create a stream from a file or flags')
    .option('-f, --file <path>', 'StreamSpec as YAML or JSON')
    .option('--id <stream-id>', 'stream id')
    .option('--http <url>', 'source: an HTTP streaming endpoint')
    .option('--format <ndjson|sse>', 'format of the HTTP source', 'ndjson')
    .option('--header <Name=value>', 'header sent to the HTTP source (repeatable)', collect)
    .option(
      '--bearer-token-env <ENV>',
      'bearer token for the HTTP source, read from this shell variable',
    )
    .option('--webhook <path>', 'source: webhook ingress at /ingest/<path>')
    .option('--kafka-topic <topic>', 'source: a Kafka topic')
    .option('--generator <template>', "source: generated records; '{{ seq }}' is the record number")
    .option('--rate <n>', 'generator records per second')
    .option('--count <n>', 'generator records in all (0: unbounded)')
    .option('--parse-json', 'processor: parse each record as JSON')
    .option('--filter <expr>', 'processor: keep records where the JSONata expression is true')
    .option('--map <expr>', 'processor: replace each record by the expression')
    .option('--key <expr>', 'processor: set the record key')
    .option('--rate-limit <n>', 'processor: records per second at most')
    .option('--sink-topic <topic>', 'the Kafka topic to write')
    .option('--serializer <json|text|bytes>', 'how records are written')
    .option('--paused', 'create it paused')
    .action(
      action(contexts, async (ctx, command) => {
        const spec = buildStreamSpec(command.opts<StreamFlags>(), ctx.io.readFile, ctx.io.env);
        const created = await ctx.api().createStream(spec);
        if (ctx.config.output === 'table')
          ctx.print(`stream ${created.spec?.streamId ?? spec.streamId} created\n`);
        else
          ctx.print(
            formatData(ctx.config.output, messageToJson(Stream, 'wharf.v1.Stream', created)),
          );
      }),
    );

  stream
    .command('list')
    .summary('list streams with their counters')
    .action(
      action(contexts, async (ctx) => {
        const list = await ctx.api().listStreams();
        if (ctx.config.output === 'table')
          ctx.print(list.streams.length ? streamsTable(list.streams) : 'no streams\n');
        else
          ctx.print(
            formatData(
              ctx.config.output,
              messageToJson(ListStreamsResponse, 'wharf.v1.ListStreamsResponse', list),
            ),
          );
      }),
    );

  const lifecycle: readonly [string, string, (api: WharfApi, id: string) => Promise<Stream>][] = [
    ['pause', 'stop reading the source, keep the position', (api, id) => api.pauseStream(id)],
    ['resume', 'continue a paused stream', (api, id) => api.resumeStream(id)],
    ['delete', 'delete a stream', (api, id) => api.deleteStream(id)],
  ];
  for (const [name, summary, call] of lifecycle) {
    stream
      .command(name)
      .summary(summary)
      .argument('<stream-id>')
      .action(
        action(contexts, async (ctx, _command, id = '') => {
          const result = await call(ctx.api(), id);
          if (ctx.config.output === 'table') {
            const desired = shortEnum(
              streamDesiredStateToJSON(result.spec?.desiredState ?? 0),
              'STREAM_DESIRED_STATE_',
            );
            ctx.print(name === 'delete' ? `stream ${id} deleted\n` : `stream ${id}: ${desired}\n`);
          } else
            ctx.print(
              formatData(ctx.config.output, messageToJson(Stream, 'wharf.v1.Stream', result)),
            );
        }),
      );
  }

  stream
    .command('stats')
    .summary("a stream's counters, rate, lag and last error")
    .argument('<stream-id>')
    .action(
      action(contexts, async (ctx, _command, id = '') => {
        const s = await ctx.api().getStreamStats(id);
        if (ctx.config.output !== 'table') {
          ctx.print(
            formatData(ctx.config.output, messageToJson(StreamStatus, 'wharf.v1.StreamStatus', s)),
          );
          return;
        }
        ctx.print(
          [
            `Stream:       ${s.streamId}`,
            `State:        ${s.state || '-'}${s.replica ? ` on ${s.replica}` : ''} (generation ${s.generation})`,
            `Records:      ${s.recordsIn} in, ${s.recordsOut} out, ${s.errors} errors, ${s.dlq} to the DLQ`,
            `Throughput:   ${(s.bytesPerSecond / 1024).toFixed(1)} KiB/s`,
            `Lag:          ${s.lag}`,
            `Last error:   ${s.lastError || '-'}`,
            `Updated:      ${s.updatedAt?.toISOString() ?? '-'}`,
          ].join('\n') + '\n',
        );
      }),
    );
}
