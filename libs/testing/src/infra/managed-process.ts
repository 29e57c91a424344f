import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { eventually } from '../eventually';

/** Options of one server process the harness owns. */
export interface ManagedProcessOptions {
  /** Short name used in errors and log file names, e.g. `kafka`, `kube-apiserver`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  /** Resolves true once the process serves; polled after every start. */
  readonly ready: () => Promise<boolean>;
  /** @default 60_000 */
  readonly readyTimeoutMs?: number;
  /**
   * Detached processes outlive the Node process that started them (the `tools/infra`
   * CLI's `up`); they are stopped later by pid.
   * @default false
   */
  readonly detached?: boolean;
}

/**
 * A server process with the fault hooks reliability tests need:
 * stop (SIGTERM, then SIGKILL after a grace period), kill -9, pause/resume (SIGSTOP/SIGCONT)
 * and restart with the same arguments (and so the same ports and data directory).
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly options: ManagedProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits until its readiness probe passes. */
  async start(): Promise<void> {
    if (this.running) return;
    const { name, command, args, env, cwd, logFile, detached = false } = this.options;
    mkdirSync(dirname(logFile), { recursive: true });
    const fd = openSync(logFile, 'a');
    let exitInfo = '';
    try {
      const child = spawn(command, [...args], {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', fd, fd],
        detached,
      });
      this.child = child;
      this.exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          exitInfo = `exited with ${signal ?? `code ${code}`}`;
          resolve();
        });
        child.once('error', (error) => {
          exitInfo = `failed to spawn: ${error.message}`;
          resolve();
        });
      });
      if (detached) child.unref();
    } finally {
      closeSync(fd);
    }
    await eventually(
      async () => {
        if (!this.running) {
          throw new Error(`${name} ${exitInfo || 'is not running'}; see ${logFile}`);
        }
        if (!(await this.options.ready().catch(() => false))) {
          throw new Error(`${name} is not ready yet; see ${logFile}`);
        }
      },
      {
        timeoutMs: this.options.readyTimeoutMs ?? 60_000,
        intervalMs: 100,
        description: `${name} to become ready`,
        // A process that died will not become ready: stop polling at once.
        isFatal: () => !this.running,
      },
    );
  }

  /** SIGTERM, then SIGKILL when it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** kill -9: no chance to flush or clean up. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the process keeps its sockets open but answers nothing (a silent stall). */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone: nothing to signal.
    }
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not allocate a free port'));
      });
    });
  });
}
