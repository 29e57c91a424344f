/**
 * The local stack of real servers, for the quickstart, benchmarks and development:
 *
 *   npm run stack:up                 # or: bash tools/run.sh stack up [--kafka --kube --s3]
 *   eval "$(bash tools/run.sh stack env)"   # exports WHARF_* settings the services read
 *   bash tools/run.sh stack status
 *   npm run stack:down
 *
 * `up` starts a detached supervisor process that owns the servers (and KWOK's container
 * simulator) and writes their settings to .wharf/stack/state.json; `down` stops it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { eventually } from '../../libs/testing/src/eventually';
import { startInfra } from '../../libs/testing/src/infra/infra';
import { alive, stopRecordedServices } from './stack-services';

const stateDir = resolve(process.env['WHARF_STACK_DIR'] ?? join(__dirname, '../../.wharf/stack'));
const stateFile = join(stateDir, 'state.json');
const logFile = join(stateDir, 'supervisor.log');

interface State {
  readonly pid: number;
  readonly status: 'starting' | 'ready' | 'failed';
  readonly env: Record<string, string>;
  readonly error?: string;
  readonly startedAt: string;
}

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  } catch {
    return undefined;
  }
}


function selection(args: string[]) {
  const picked = ['kafka', 'kube', 's3'].filter((c) => args.includes(`--${c}`));
  const all = picked.length === 0;
  return { kafka: all || picked.includes('kafka'), kube: all || picked.includes('kube'), s3: all || picked.includes('s3') };
}

async function up(args: string[]): Promise<void> {
  const current = readState();
  if (current && alive(current.pid) && current.status === 'ready') {
    process.stderr.write(`stack: already running (pid ${current.pid})\n`);
    printEnv(current);
    return;
  }
  mkdirSync(stateDir, { recursive: true });
  rmSync(stateFile, { force: true });
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, __filename, 'supervise', ...args], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  process.stderr.write(`stack: starting (supervisor pid ${child.pid}, log ${logFile}); the first run builds the servers and takes several minutes\n`);
  let shown = 0;
  const state = await eventually(
    () => {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      const lines = log.split('\n').filter((l) => l.startsWith('[infra]'));
      for (const line of lines.slice(shown)) process.stderr.write(`  ${line.slice(8)}\n`);
      shown = lines.length;
      const s = readState();
      if (s?.status === 'failed') throw Object.assign(new Error(s.error ?? 'stack failed to start'), { fatal: true });
      if (!child.pid || !alive(child.pid)) throw Object.assign(new Error(`supervisor exited; see ${logFile}`), { fatal: true });
      if (s?.status !== 'ready') throw new Error('not ready');
      return s;
    },
    { timeoutMs: 45 * 60_000, intervalMs: 500, description: 'the local stack', isFatal: (e) => Boolean((e as { fatal?: boolean }).fatal) },
  );
  process.stderr.write('stack: ready\n');
  printEnv(state);
}

async function supervise(args: string[]): Promise<void> {
  const write = (state: Omit<State, 'pid' | 'startedAt'>) =>
    writeFileSync(stateFile, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), ...state }, null, 2));
  write({ status: 'starting', env: {} });
  try {
    const infra = await startInfra({ ...selection(args), workDir: join(stateDir, 'servers'), log: (l) => console.log(`[infra] ${l}`) });
    write({ status: 'ready', env: infra.env() });
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      console.log('[infra] stopping…');
      await infra.stop();
      rmSync(stateFile, { force: true });
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
  } catch (error) {
    write({ status: 'failed', env: {}, error: (error as Error).message });
    process.exit(1);
  }
}

async function down(): Promise<void> {
  await stopRecordedServices(stateDir, (line) => process.stderr.write(`stack: ${line}\n`));
  const state = readState();
  if (!state || !alive(state.pid)) {
    process.stderr.write('stack: not running\n');
    rmSync(stateFile, { force: true });
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  await eventually(() => {
    if (alive(state.pid)) throw new Error('still running');
  }, { timeoutMs: 60_000, intervalMs: 200, description: 'the stack to stop' });
  process.stderr.write('stack: stopped\n');
}

function printEnv(state: State): void {
  for (const [k, v] of Object.entries(state.env)) process.stdout.write(`export ${k}='${v}'\n`);
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case 'up':
      return up(args);
    case 'supervise':
      return supervise(args);
    case 'down':
      return down();
    case 'env': {
      const state = readState();
      if (!state || state.status !== 'ready' || !alive(state.pid)) throw new Error('the stack is not running: npm run stack:up');
      return printEnv(state);
    }
    case 'status': {
      const state = readState();
      const running = Boolean(state && alive(state.pid));
      process.stdout.write(`${running ? state?.status : 'stopped'}${running ? ` (pid ${state?.pid}, since ${state?.startedAt})` : ''}\n`);
      if (running) for (const [k, v] of Object.entries(state?.env ?? {})) process.stdout.write(`  ${k}=${/SECRET/.test(k) ? '***' : v}\n`);
      return;
    }
    default:
      throw new Error('usage: stack up [--kafka] [--kube] [--s3] | down | status | env');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`stack: ${(error as Error).message}\n`);
  process.exit(1);
});
