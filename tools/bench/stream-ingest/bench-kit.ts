/** Shared pieces of the stream-ingest benchmarks: a broker, an NDJSON upstream, the service process. */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureInstalled } from '../../../libs/testing/src/infra/install';
import { startKafka, type KafkaServer } from '../../../libs/testing/src/infra/kafka';
import { freePort } from '../../../libs/testing/src/infra/managed-process';

export const repo = resolve(__dirname, '../../..');
export const execFileAsync = promisify(execFile);

export async function startBroker(): Promise<{ kafka: KafkaServer; installDir: string }> {
  const installDir = ensureInstalled('kafka');
  const kafka = await startKafka({ installDir, workDir: mkdtempSync(join(tmpdir(), 'bench-kafka-')) });
  return { kafka, installDir };
}

export async function createTopic(installDir: string, brokers: string[], topic: string, partitions = 3): Promise<void> {
  await execFileAsync(join(installDir, 'bin', 'kafka-topics'), [
    '--bootstrap-server', brokers.join(','), '--create', '--if-not-exists', '--topic', topic,
    '--partitions', String(partitions), '--replication-factor', '1',
  ], { env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx256m' } });
}

/** ~`size`-byte NDJSON line number `seq`. */
export function line(seq: number, size = 200): string {
  const head = `{"seq":${seq},"pad":"`;
  return `${head}${'x'.repeat(Math.max(0, size - head.length - 3))}"}\n`;
}

/**
 * Writes `count` lines from number `seq` on into a new Buffer: byte for byte what {@link line}
 * returns, built without a string per line (the upstream runs in the driver, on the same two
 * cores as the contestants, so it should cost as little as it can).
 */
export function lines(seq: number, count: number, size = 200): Buffer {
  const templates = lineTemplates(size);
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += (templates[digitsOf(seq + i)] as Buffer).length;
  const buf = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    let n = seq + i;
    const digits = digitsOf(n);
    const template = templates[digits] as Buffer;
    buf.set(template, offset);
    for (let d = offset + 7 + digits - 1; d >= offset + 7; d--) {
      buf[d] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    offset += template.length;
  }
  return buf;
}

const templateCache = new Map<number, Buffer[]>();

/** By digit count: the line of {@link line} with zeros for the number (which starts at byte 7). */
function lineTemplates(size: number): Buffer[] {
  let templates = templateCache.get(size);
  if (!templates) {
    templates = [];
    for (let digits = 1; digits <= 16; digits++) templates[digits] = Buffer.from(line(Number('1'.repeat(digits)), size).replace(/"seq":\d+/, `"seq":${'0'.repeat(digits)}`), 'latin1');
    templateCache.set(size, templates);
  }
  return templates;
}

function digitsOf(n: number): number {
  return n < 10 ? 1 : Math.floor(Math.log10(n)) + 1;
}

/**
 * An upstream serving `total` NDJSON lines (Infinity: until closed) as fast as the client reads
 * (honouring TCP backpressure), then keeping the connection open.
 */
export async function ndjsonUpstream(total: number, size = 200): Promise<{ url: string; sent: () => number; close(): Promise<void> }> {
  let sent = 0;
  const server: Server = createServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const pump = (): void => {
      while (sent < total) {
        const count = Math.min(500, total - sent);
        const chunk = lines(sent, count, size);
        sent += count;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/stream`,
    sent: () => sent,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** stream-ingest as its own process (the bundle), standalone with one NDJSON → topic stream. */
export async function startStreamIngest(options: {
  brokers: string[];
  url: string;
  topic: string;
  maxInFlightRecords?: number;
  maxInFlightBytes?: number;
  /** Extra node flags, e.g. --cpu-prof (on top of the runtime env's NODE_OPTIONS). */
  nodeFlags?: string[];
  /** The process's runtime env (MALLOC_ARENA_MAX, NODE_OPTIONS): the Deployment's by default ({@link runtimeEnvArg}). */
  runtimeEnv?: Record<string, string>;
  /** More env for the process (e.g. WHARF_PROBE_OUT). */
  extraEnv?: Record<string, string>;
}): Promise<{
  child: ChildProcess;
  opsPort: number;
  metric(name: string): Promise<number>;
  memory(): Promise<MemoryBreakdown>;
  rssMb(): number;
  cpuSeconds(): number;
}> {
  const opsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-si-'));
  const config = join(dir, 'stream-ingest.yaml');
  writeFileSync(
    config,
    `kafka: { brokers: [${options.brokers.join(', ')}] }
ops: { port: ${opsPort} }
ingress: { port: 0 }
logLevel: warn
streams:
  - id: bench
    source: { http: { url: ${options.url}, format: ndjson } }
    sink: { topic: ${options.topic}, serializer: bytes }
    limits: { maxInFlightRecords: ${options.maxInFlightRecords ?? 10000}, maxInFlightBytes: ${options.maxInFlightBytes ?? 16777216} }
`,
  );
  // The driver's own NODE_OPTIONS / MALLOC_ARENA_MAX do not leak into the contestant: it gets
  // exactly the runtime env it is given (the Deployment's, unless told otherwise).
  const { NODE_OPTIONS: _nodeOptions, MALLOC_ARENA_MAX: _arenas, ...inherited } = process.env;
  const runtimeEnv = options.runtimeEnv ?? runtimeEnvArg().env;
  // WHARF_NODE_FLAGS: V8 flags Node refuses in NODE_OPTIONS, on the command line as the Deployment puts them.
  const runtimeFlags = runtimeEnv['WHARF_NODE_FLAGS']?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...runtimeFlags, ...(options.nodeFlags ?? []), 'dist/apps/stream-ingest/main.js', '--config', config], {
    cwd: repo,
    env: { ...inherited, ...runtimeEnv, ...options.extraEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const metric = async (name: string): Promise<number> => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      const match = new RegExp(`^${name}\\{[^}]*stream="bench"[^}]*\\} (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : 0;
    } catch {
      return 0;
    }
  };
  const rssMb = (): number => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  const memory = async (): Promise<MemoryBreakdown> => {
    const breakdown: MemoryBreakdown = { rssMb: rssMb(), heapSpacesMb: {}, heapUsedMb: 0, externalMb: 0 };
    try {
      const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      const mb = (v: string | undefined): number => Math.round((Number(v ?? 0) / 2 ** 20) * 10) / 10;
      // Every series carries the registry's default labels ({service="stream-ingest"}).
      for (const m of text.matchAll(/^nodejs_heap_space_size_total_bytes\{[^}]*space="([^"]+)"[^}]*\} (\S+)$/gm)) breakdown.heapSpacesMb[m[1] ?? ''] = mb(m[2]);
      breakdown.heapUsedMb = mb(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1]);
      breakdown.externalMb = mb(/^nodejs_external_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1]);
    } catch {
      // the process is gone or busy: RSS alone
    }
    return breakdown;
  };
  return { child, opsPort, metric, memory, rssMb, cpuSeconds: () => cpuSecondsOf(child.pid) };
}

/** RSS and where it is: V8 heap spaces (committed), heap used, external (Buffers). */
export interface MemoryBreakdown {
  rssMb: number;
  heapSpacesMb: Record<string, number>;
  heapUsedMb: number;
  externalMb: number;
}

/** The Deployment's runtime env of stream-ingest (its container's env; the benches' default). */
export const deployedRuntimeEnvFile = join(repo, 'deploy/base/stream-ingest/node-runtime.env');

/** KEY=VALUE lines of an env file (blank lines and # comments skipped), as the configMapGenerator reads them. */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    const eq = text.indexOf('=');
    if (eq > 0) env[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return env;
}

/**
 * `--runtime-env <file>`: the env file the process runs with (default: the Deployment's,
 * deploy/base/stream-ingest/node-runtime.env, so the bench measures what is deployed);
 * `--runtime-env none`: Node's defaults (no NODE_OPTIONS, no MALLOC_ARENA_MAX), to compare.
 */
export function runtimeEnvArg(): { label: string; env: Record<string, string> } {
  const i = process.argv.indexOf('--runtime-env');
  const value = i >= 0 ? (process.argv[i + 1] ?? '') : deployedRuntimeEnvFile;
  if (value === 'none') return { label: 'none (Node defaults)', env: {} };
  const env = readEnvFile(resolve(value));
  return { label: `${value === deployedRuntimeEnvFile ? 'deployed' : value}: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`, env };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, in seconds (from /proc; 100 ticks per second). */
export function cpuSecondsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** All CPUs' busy and total time (jiffies, from /proc/stat): busy ÷ total over a span is how saturated the machine was. */
export function machineCpu(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** The produce-request probe (produce-probe.cjs), preloaded with `--require`. */
export const probeScript = join(__dirname, 'produce-probe.cjs');

export function nodeFlagsArg(): string[] {
  const i = process.argv.indexOf('--node-flags');
  return i >= 0 ? (process.argv[i + 1] ?? '').split(' ').filter(Boolean) : [];
}
