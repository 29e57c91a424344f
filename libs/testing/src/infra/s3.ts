import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { ManagedProcess, freePort } from './managed-process';

/** Options of {@link startS3}. */
export interface S3Options {
  /** The dir `tools/infra/install-s3.sh` printed: holds the `versitygw` binary. */
  readonly binDir: string;
  /** Objects live in `data/` (bucket = directory, object = file), logs in `logs/`. */
  readonly workDir: string;
  /** See `ManagedProcessOptions.detached`. @default false */
  readonly detached?: boolean;
}

/** versitygw (posix backend) on 127.0.0.1; path-style addressing only. */
export interface S3Server {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** restart() keeps the port, the credentials and the objects. */
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const HEALTH_PATH = '/health';

/** Starts versitygw with fresh root credentials and resolves once it answers HTTP. */
export async function startS3(options: S3Options): Promise<S3Server> {
  const { binDir, workDir, detached = false } = options;
  const dataDir = join(workDir, 'data');
  const logDir = join(workDir, 'logs');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });

  const port = await freePort();
  const accessKeyId = `WHARF${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  const server = new ManagedProcess({
    name: 's3',
    command: join(binDir, 'versitygw'),
    args: [
      '--port',
      `127.0.0.1:${port}`,
      '--region',
      REGION,
      '--health',
      HEALTH_PATH,
      '--quiet',
      'posix',
      dataDir,
    ],
    // In the environment rather than in argv, where `ps` would show them.
    env: { ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
    cwd: workDir,
    logFile: join(logDir, 's3.out'),
    ready: () => answersHealth(port),
    readyTimeoutMs: 30_000,
    detached,
  });
  await server.start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    process: server,
    stop: () => server.stop(),
  };
}

async function answersHealth(port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: HEALTH_PATH,
        method: 'GET',
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}
