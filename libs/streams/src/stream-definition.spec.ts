import { StreamDesiredState } from '@wharf/contracts';
import { InvalidArgumentError } from '@wharf/platform';
import { specOf, testDefaults } from '../test/stream-fixtures';
import { toStreamDefinition } from './stream-definition';

function violations(overrides: Parameters<typeof specOf>[0]): string[] {
  try {
    toStreamDefinition(specOf(overrides), testDefaults);
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error.violations.map((v) => v.field);
    throw error;
  }
  return [];
}

describe('toStreamDefinition', () => {
  it('fills in defaults', () => {
    const definition = toStreamDefinition(specOf(), testDefaults);
    expect(definition).toMatchObject({
      id: 'orders',
      desired: 'running',
      source: { kind: 'generator', template: '{"seq":{{ seq }}}' },
      sink: { topic: 'orders-out', dlqTopic: 'orders-out.dlq', serializer: 'bytes', compression: 'none' },
      limits: { maxRecords: 1000, maxBytes: 1024 * 1024 },
    });
  });

  it('defaults the serializer to json when processors produce values', () => {
    expect(toStreamDefinition(specOf({ processors: [{ parseJson: true }] }), testDefaults).sink.serializer).toBe('json');
  });

  it('reads HTTP sources and defaults the Kafka source group', () => {
    const http = toStreamDefinition(
      specOf({ source: { http: { url: 'https://api.example.com/stream', format: 'sse', headers: { 'X-A': '1' }, bearerToken: 't' } } }),
      testDefaults,
    );
    expect(http.source).toEqual({ kind: 'http', url: 'https://api.example.com/stream', format: 'sse', headers: { 'X-A': '1' }, bearerToken: 't' });
    const kafka = toStreamDefinition(specOf({ source: { kafka: { topic: 'in', groupId: '' } } }), testDefaults);
    expect(kafka.source).toEqual({ kind: 'kafka', topic: 'in', groupId: 'wharf.stream.orders' });
  });

  it('lists every problem with its field', () => {
    expect(
      violations({
        streamId: 'Bad_Id',
        tenant: '',
        source: { http: { url: 'ftp://user:pw@x', format: 'xml', headers: { 'bad header': 'v' }, bearerToken: '' } },
        processors: [{ filter: '(' }],
        sink: { topic: 'wharf.jobs.state', serializer: 'avro', headers: {}, compression: 'zstd', dlqTopic: '' },
        limits: { maxInFlightRecords: 5_000_000, maxInFlightBytes: 0 },
        desiredState: StreamDesiredState.UNRECOGNIZED,
      }),
    ).toEqual([
      'streamId',
      'tenant',
      'source.http.url',
      'source.http.url',
      'source.http.format',
      'source.http.headers.bad header',
      'processors[0].filter',
      'sink.topic',
      'sink.serializer',
      'sink.compression',
      'limits.maxInFlightRecords',
      'desiredState',
    ]);
  });

  it('rejects a spec with no source or two, and a Kafka loop', () => {
    expect(violations({ source: {} })).toEqual(['source']);
    expect(violations({ source: { webhook: { path: 'a' }, generator: { rate: 1, count: 0, template: '' } } })).toEqual(['source']);
    expect(violations({ source: { kafka: { topic: 'orders-out', groupId: '' } } })).toEqual(['source.kafka.topic']);
    expect(violations({ source: { webhook: { path: '../etc' } } })).toEqual(['source.webhook.path']);
  });

  it('maps PAUSED to paused', () => {
    expect(toStreamDefinition(specOf({ desiredState: StreamDesiredState.STREAM_DESIRED_STATE_PAUSED }), testDefaults).desired).toBe('paused');
  });
});
