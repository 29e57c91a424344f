import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { runCli } from './cli';
import { CliError, ExitCodes } from './cli-errors';
import { createGrpcApi } from './wharf-api';

// Composition root: real terminal, files, environment, gRPC clients and Ctrl-C; no logic here.
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());
process.once('SIGTERM', () => interrupt.abort());

const readFile = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      ExitCodes.usage,
    );
  }
};

void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  homeDir: homedir(),
  readFile,
  readFileIfExists: (path) => (existsSync(path) ? readFile(path) : undefined),
  now: () => new Date(),
  signal: interrupt.signal,
  createApi: (config) => createGrpcApi({ config, readFile: (path) => readFileSync(path) }),
}).then((code) => {
  process.exitCode = code;
});
