import { StreamDesiredState } from '@wharf/contracts';
import { ConfigError, loadConfig } from '@wharf/platform';
import { testDefaults } from '../test/stream-fixtures';
import { streamIngestConfigSchema } from './config';
import { standaloneSpecs } from './standalone-streams';
import { toStreamDefinition } from './stream-definition';

const ednaYaml = `
kafka:
  brokers: [kafka.kafka.svc:9092]
streams:
  - id: twitter-sampled-stream
    tenant: edna
    source:
      http:
        url: https://api.twitter.com/2/tweets/sample/stream?tweet.fields=lang
        bearerTokenFile: /var/run/secrets/twitter/token
    processors:
      - parseJson: true
      - filter: "data.lang = 'en'"
      - key: data.id
    sink:
      topic: twitter-sampled-stream
`;

function load(yaml: string, files: Record<string, string> = {}) {
  const config = loadConfig(streamIngestConfigSchema, {
    env: {},
    argv: ['--config', 'stream-ingest.yaml'],
    readFile: () => yaml,
  });
  return {
    config,
    specs: standaloneSpecs(config.streams, (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return content;
    }),
  };
}

describe('standalone streams', () => {
  it('turns EDNA-style YAML into valid stream specs, reading the token from its file', () => {
    const { config, specs } = load(ednaYaml, { '/var/run/secrets/twitter/token': 'AAAA-secret\n' });
    expect(config.kafka.brokers).toEqual(['kafka.kafka.svc:9092']);
    expect(specs).toHaveLength(1);
    const definition = toStreamDefinition(specs[0] as (typeof specs)[number], testDefaults);
    expect(definition).toMatchObject({
      id: 'twitter-sampled-stream',
      tenant: 'edna',
      desired: 'running',
      source: { kind: 'http', format: 'ndjson', bearerToken: 'AAAA-secret' },
      sink: { topic: 'twitter-sampled-stream', serializer: 'json' },
    });
    expect(specs[0]?.desiredState).toBe(StreamDesiredState.STREAM_DESIRED_STATE_RUNNING);
  });

  it('rejects unknown keys (a typo is an error, not an ignored setting)', () => {
    expect(() => load(ednaYaml.replace('parseJson', 'parseJSON'))).toThrow(ConfigError);
    expect(() => load(ednaYaml.replace('parseJson', 'parseJSON'))).toThrow(/streams\.0\.processors\.0/);
  });

  it('reports an unreadable token file and duplicate ids without leaking file contents', () => {
    const twice = `${ednaYaml}  - id: twitter-sampled-stream\n    source: { generator: {} }\n    sink: { topic: t }\n`;
    expect(() => load(twice)).toThrow(/streams\[0\]\.source\.http\.bearerTokenFile: cannot read the token file: ENOENT; streams\[1\]\.id: duplicate/);
  });

  it('defaults to no standalone streams (follow wharf.streams)', () => {
    expect(load('kafka: { brokers: [a:9092] }').specs).toEqual([]);
  });
});
