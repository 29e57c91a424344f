import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testInfra, uniqueName } from '@wharf/testing';
import { ensureInstalled } from '@wharf/testing';
import { httpSource } from './kafka-test-kit';

const repo = resolve(__dirname, '../../..');
const execFileAsync = promisify(execFile);

describe('standalone YAML mode (EDNA\'s tutorial, made real)', () => {
  it('runs a stream from a YAML file alone; a console consumer sees the records', async () => {
    // The "Twitter sampled stream": NDJSON behind a bearer token.
    const tweets = Array.from({ length: 50 }, (_, i) => ({ data: { id: String(1000 + i), lang: i % 5 === 0 ? 'fr' : 'en', text: `tweet ${i}` } }));
    const upstream = await httpSource((req, res) => {
      if (req.headers['authorization'] !== 'Bearer edna-token') {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(tweets.map((t) => `${JSON.stringify(t)}\n`).join(''));
    });
    const dir = mkdtempSync(join(tmpdir(), 'stream-ingest-yaml-'));
    const topic = uniqueName('twitter-sampled-stream');
    writeFileSync(join(dir, 'token'), 'edna-token\n');
    writeFileSync(
      join(dir, 'stream-ingest.yaml'),
      `kafka:
  brokers: [${testInfra().kafka.brokers.join(', ')}]
ops: { port: 0 }
ingress: { port: 0 }
logLevel: warn
streams:
  - id: twitter-sampled
    tenant: edna
    source:
      http:
        url: ${upstream.url}
        format: ndjson
        bearerTokenFile: ${join(dir, 'token')}
    processors:
      - parseJson: true
      - filter: data.lang = 'en'
      - map: '{ "id": data.id, "text": data.text }'
      - key: id
    sink:
      topic: ${topic}
      serializer: json
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/stream-ingest/src/main.ts', '--config', join(dir, 'stream-ingest.yaml')], {
      cwd: repo,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.base.json' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    try {
      const kafkaHome = ensureInstalled('kafka');
      const { stdout } = await execFileAsync(
        join(kafkaHome, 'bin', 'kafka-console-consumer'),
        [
          '--bootstrap-server',
          testInfra().kafka.brokers.join(','),
          '--topic',
          topic,
          '--from-beginning',
          '--max-messages',
          '40',
          '--timeout-ms',
          '120000',
          '--formatter-property',
          'print.key=true',
        ],
        { timeout: 180_000, env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx256m' } },
      );
      const records = stdout.trim().split('\n').map((line) => line.split('\t'));
      expect(records).toHaveLength(40); // 50 tweets, 10 in French filtered out
      for (const [key, value] of records) {
        expect(JSON.parse(value ?? '')).toEqual({ id: key, text: expect.stringMatching(/^tweet \d+$/) });
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
