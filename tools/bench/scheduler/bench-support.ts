/** Shared pieces of the scheduler benchmarks: a scheduler process, tokens, percentiles. */
import { createKafka, createLogger } from '@wharf/platform';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { constants as perfConstants } from 'node:perf_hooks';

export const root = resolve(__dirname, '../../..');
export const token = 'bench-token-0123456789abcdef';

export function brokers(): string {
  const value = process.env['WHARF_KAFKA_BROKERS'];
  if (!value) throw new Error('set WHARF_KAFKA_BROKERS (eval "$(bash tools/run.sh stack env)")');
  return value;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

export interface SchedulerProcess {
  readonly child: ChildProcess;
  readonly grpcPort: number;
  readonly opsPort: number;
  ready(timeoutMs?: number): Promise<number>;
  /** Peak and current resident memory (MiB) from /proc. */
  memory(): { peakMiB: number; rssMiB: number };
}

export async function startSchedulerProcess(namespace: string, extraEnv: Record<string, string> = {}): Promise<SchedulerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-'));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `tenants:\n  - name: bench\n    tokens: ["${token}"]\n`);
  const config = join(dir, 'scheduler.yaml');
  writeFileSync(
    config,
    [
      'queues:',
      '  - { name: batch, tenants: [bench], namespaces: [bench], maxRunning: 1 }',
      ...Array.from({ length: 9 }, (_, i) => `  - { name: q${i}, tenants: [bench], namespaces: [bench], maxRunning: 1 }`),
      '',
    ].join('\n'),
  );
  const grpcPort = await freePort();
  const opsPort = await freePort();
  const child = spawn(process.execPath, [...nodeFlags(), join(root, 'dist/apps/scheduler/main.js'), '--config', config], {
    env: {
      ...process.env,
      WHARF_KAFKA_BROKERS: brokers(),
      WHARF_AUTH_TOKENS_FILE: tokens,
      WHARF_GRPC_PORT: String(grpcPort),
      WHARF_OPS_PORT: String(opsPort),
      WHARF_STATE_NAMESPACE: namespace,
      WHARF_LOG_LEVEL: 'warn',
      // WHARF_BENCH_CPU_PROF=<dir>: the scheduler writes a V8 CPU profile there when it stops.
      ...(process.env['WHARF_BENCH_CPU_PROF'] ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env['WHARF_BENCH_CPU_PROF']}` } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return {
    child,
    grpcPort,
    opsPort,
    async ready(timeoutMs = 120_000) {
      const started = Date.now();
      while (Date.now() - started < timeoutMs) {
        try {
          const response = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
          if (response.ok) return Date.now() - started;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('scheduler not ready in time');
    },
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { peakMiB: Math.round(kb('VmHWM') / 1024), rssMiB: Math.round(kb('VmRSS') / 1024) };
    },
  };
}

/**
 * Deletes the topics a bench run created (every topic named `<namespace>.…`). The stack's
 * broker keeps its data between runs: thousands of left-over partitions made every later run
 * slower (p50 and p99 of submit-bench.ts drifted up run after run).
 */
export async function deleteNamespaceTopics(namespace: string): Promise<number> {
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const admin = createKafka({ brokers: brokers().split(','), clientId: 'bench-cleanup', logger: logger.child({}, { level: 'fatal' }) }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}

const gcKinds: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** A GC performance entry's kind by name, as timeline-probe.cjs writes it. */
export function gcKindName(kind: number | undefined): string {
  return gcKinds[kind ?? -1] ?? String(kind);
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** WHARF_BENCH_NODE_FLAGS: node flags for the scheduler process only (e.g. --trace-gc), which Node refuses in NODE_OPTIONS. */
function nodeFlags(): string[] {
  return (process.env['WHARF_BENCH_NODE_FLAGS'] ?? '').split(/\s+/).filter(Boolean);
}
