/**
 * `npm run quickstart`: Wharf's main job on one machine.
 *
 * 1. starts the local stack of real servers (Kafka, Kubernetes with KWOK nodes, S3), building
 *    them on the first run (cached under ~/.cache/wharf);
 * 2. builds and starts the four services against it;
 * 3. runs seed 000's indexed example (5 items, parallelism 3) through the wharf CLI, a two-task
 *    workflow, and a stream from a local NDJSON source into a Kafka topic;
 * 4. says where the logs were archived and how to stop (`npm run stack:down`).
 *
 * Everything it starts stays up, so you can keep using `wharf` against it (the env to export is
 * printed at the end).
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { eventually } from '../../libs/testing/src/eventually';
import { freePort } from '../../libs/testing/src/infra/managed-process';
import { Demo, services, type ServiceName } from './services';
import { stopRecordedServices } from '../infra/stack-services';

const root = resolve(__dirname, '../..');
const stackDir = resolve(process.env['WHARF_STACK_DIR'] ?? join(root, '.wharf/stack'));
const quickDir = join(stackDir, 'quickstart');
const started = Date.now();

function step(title: string): void {
  const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`\n\x1b[1m[${elapsed}s] ${title}\x1b[0m\n`);
}

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
  return typeof result.stdout === 'string' ? result.stdout : '';
}

/** The stack's WHARF_* settings, parsed from `stack up`'s `export K='V'` lines. */
function stackUp(): Record<string, string> {
  const out = run(process.execPath, [...process.execArgv, join(root, 'tools/infra/cli.ts'), 'up']);
  const env: Record<string, string> = {};
  for (const match of out.matchAll(/^export (\w+)='(.*)'$/gm)) env[match[1] as string] = match[2] as string;
  return env;
}

interface RunningService {
  readonly name: ServiceName;
  readonly pid: number;
  readonly opsPort: number;
  readonly log: string;
}

async function startServices(stackEnv: Record<string, string>, token: string): Promise<{ grpc: string; running: RunningService[] }> {
  mkdirSync(join(stackDir, 'logs'), { recursive: true });
  await stopRecordedServices(stackDir, (line) => process.stdout.write(`  ${line} (from an earlier run)\n`));
  const grpcPort = await freePort();
  // The key that seals inline secret values on their way through Kafka (scheduler → job-launcher).
  const sealKeyFile = join(quickDir, 'seal.key');
  if (!existsSync(sealKeyFile)) writeFileSync(sealKeyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const context = { stackEnv, quickDir, token, sealKeyFile, grpcPort, ingressPort: await freePort(), root };
  const running: RunningService[] = [];
  for (const service of services) {
    const opsPort = await freePort();
    const log = join(stackDir, 'logs', `${service.name}.log`);
    const out = openSync(log, 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', join(root, 'dist/apps', service.name, 'main.js'), ...service.args(context)], {
      cwd: root,
      env: { ...process.env, ...stackEnv, ...service.env(context), WHARF_OPS_PORT: String(opsPort), WHARF_LOG_LEVEL: 'info' },
      stdio: ['ignore', out, out],
      detached: true,
    });
    child.unref();
    running.push({ name: service.name, pid: child.pid ?? 0, opsPort, log });
  }
  writeFileSync(join(stackDir, 'services.json'), JSON.stringify(running, null, 2));
  for (const service of running) {
    await eventually(
      async () => {
        try {
          process.kill(service.pid, 0);
        } catch {
          throw Object.assign(new Error(`${service.name} exited; see ${service.log}`), { fatal: true });
        }
        const res = await fetch(`http://127.0.0.1:${service.opsPort}/readyz`);
        if (res.status !== 200) throw new Error(`${service.name} is not ready`);
      },
      { timeoutMs: 120_000, intervalMs: 250, description: `${service.name} to be ready`, isFatal: (e) => Boolean((e as { fatal?: boolean }).fatal) },
    );
    process.stdout.write(`  ✓ ${service.name} ready (pid ${service.pid}, log ${service.log})\n`);
  }
  return { grpc: `127.0.0.1:${grpcPort}`, running };
}

/** Runs the wharf CLI with the quickstart's server and token, its output shown as it comes. */
function wharf(env: Record<string, string>, ...args: string[]): string {
  return run(process.execPath, [join(root, 'dist/apps/cli/main.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

function wharfLive(env: Record<string, string>, ...args: string[]): void {
  run(process.execPath, [join(root, 'dist/apps/cli/main.js'), ...args], { env: { ...process.env, ...env }, stdio: 'inherit' });
}

async function ndjsonServer(lines: string[]): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const line of lines) res.write(`${line}\n`);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/words.ndjson`, server };
}

async function main(): Promise<void> {
  step('1/6 local stack: Apache Kafka, Kubernetes control plane + KWOK nodes, S3 (first run builds them: several minutes)');
  const stackEnv = stackUp();

  const s3 = new S3Client({
    endpoint: stackEnv['WHARF_S3_ENDPOINT'],
    region: stackEnv['WHARF_S3_REGION'],
    credentials: { accessKeyId: stackEnv['WHARF_S3_ACCESS_KEY_ID'] ?? '', secretAccessKey: stackEnv['WHARF_S3_SECRET_ACCESS_KEY'] ?? '' },
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: Demo.bucket })).catch((error: { name?: string }) => {
    if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
  });
  s3.destroy();

  step('2/6 building the services (esbuild)');
  for (const app of ['scheduler', 'job-launcher', 'log-archiver', 'stream-ingest', 'cli']) {
    run(process.execPath, [join(root, 'tools/build/bundle.mjs'), `apps/${app}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  process.stdout.write('  ✓ dist/apps/{scheduler,job-launcher,log-archiver,stream-ingest,cli}\n');

  step('3/6 starting scheduler, job-launcher, log-archiver and stream-ingest');
  mkdirSync(quickDir, { recursive: true });
  const tokenFile = join(quickDir, 'token');
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : `qs-${randomBytes(16).toString('hex')}`;
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const { grpc } = await startServices(stackEnv, token);
  const cliEnv = { WHARF_SERVER: grpc, WHARF_TOKEN: token };

  step("4/6 seed 000: reverse each of 'foo bar baz qux xyz' as one Indexed Job (parallelism 3)");
  const submitted = JSON.parse(wharf(cliEnv, 'submit', '-f', join(root, 'examples/quickstart/seed-000.yaml'), '-o', 'json')) as {
    job?: { jobId?: string };
    jobId?: string;
  };
  const jobId = submitted.job?.jobId ?? submitted.jobId ?? '';
  process.stdout.write(`  submitted ${jobId}\n`);
  wharfLive(cliEnv, 'watch', jobId, '--wait-archived');
  const job = { jobs: [JSON.parse(wharf(cliEnv, 'get', jobId, '-o', 'json')) as { jobId: string; runs?: { logsManifest?: string }[] }] };
  for (let index = 0; index < 5; index++) {
    process.stdout.write(`  index ${index}: ${wharf(cliEnv, 'logs', jobId, '--index', String(index)).trim()}\n`);
  }
  const manifest = job.jobs?.[0]?.runs?.at(-1)?.logsManifest ?? '(not archived yet)';

  step('5/6 a two-task workflow (prepare → report, the output of one is the input of the next)');
  wharfLive(cliEnv, 'workflow', 'submit', '-f', join(root, 'examples/quickstart/workflow.yaml'), '--watch');

  step('6/6 a stream: local NDJSON endpoint → uppercase words → Kafka topic quickstart.words');
  const words = ['wharf', 'runs', 'batch', 'jobs', 'workflows', 'and', 'streams', 'on', 'kubernetes', 'kafka'];
  const { url, server } = await ndjsonServer(words.map((word, i) => JSON.stringify({ i, word })));
  const topic = `quickstart.words.${randomBytes(3).toString('hex')}`;
  const kafka = new Kafka({ clientId: 'quickstart', brokers: (stackEnv['WHARF_KAFKA_BROKERS'] ?? '').split(','), logLevel: logLevel.NOTHING });
  // The stream is created through the scheduler's StreamService (`wharf stream create`), which
  // validates it and writes it to the compacted wharf.streams topic; stream-ingest runs it.
  const streamId = topic.replace(/\./g, '-');
  const specFile = join(quickDir, 'stream.yaml');
  writeFileSync(
    specFile,
    stringify({
      streamId,
      source: { http: { url, format: 'ndjson' } },
      processors: [{ parseJson: true }, { map: '{"word": $uppercase(word)}' }, { key: 'word' }],
      sink: { topic, serializer: 'json' },
    }),
  );
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const created = JSON.parse(wharf(cliEnv, 'stream', 'create', '-f', specFile, '-o', 'json')) as { spec?: { streamId?: string; generation?: string } };
  if (created.spec?.streamId !== streamId) throw new Error(`wharf stream create answered ${JSON.stringify(created)}`);
  process.stdout.write(`  stream ${streamId} (${specFile}): ${url} → parse JSON → $uppercase(word) → key word → ${topic}\n`);
  const consumer = kafka.consumer({ groupId: `quickstart-${randomBytes(3).toString('hex')}` });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
  await eventually(() => expect(seen.length >= words.length), { timeoutMs: 60_000, description: `${words.length} records on ${topic}` });
  await consumer.disconnect();
  wharfLive(cliEnv, 'stream', 'list');
  // The demo stream has done its job: delete it (a tombstone on wharf.streams), so it does not
  // keep re-reading the endpoint after this script ends.
  wharfLive(cliEnv, 'stream', 'delete', streamId);
  server.close();
  process.stdout.write(`  ✓ ${seen.length} records on ${topic}, e.g. ${seen[0]}\n`);

  step('done');
  process.stdout.write(
    [
      `  seed 000's logs were archived; manifest: ${manifest}`,
      `  service logs: ${join(stackDir, 'logs')}`,
      '  keep using it:',
      `    export WHARF_SERVER=${grpc} WHARF_TOKEN=$(cat ${tokenFile})`,
      '    node dist/apps/cli/main.js list',
      '  stop everything: npm run stack:down',
      `  took ${((Date.now() - started) / 1000).toFixed(0)} s`,
      '',
    ].join('\n'),
  );
}

function expect(condition: boolean): void {
  if (!condition) throw new Error('not yet');
}

main().catch((error: unknown) => {
  process.stderr.write(`\nquickstart failed: ${(error as Error).message}\nlogs: ${join(stackDir, 'logs')}; stop with: npm run stack:down\n`);
  process.exit(1);
});
