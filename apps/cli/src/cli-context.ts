import type { Command } from 'commander';
import { resolveCliConfig, type CliConfig } from './cli-config';
import type { Timers } from './resumable-watch';
import type { WharfApi } from './wharf-api';

/** Everything a command touches outside itself; main.ts wires the real ones, tests fakes. */
export interface CliIo {
  readonly stdout: {
    write(text: string): void;
    readonly isTTY?: boolean;
    readonly columns?: number;
  };
  readonly stderr: { write(text: string): void };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  /** Thrown: CliError when the file cannot be read. */
  readonly readFile: (path: string) => string;
  readonly readFileIfExists: (path: string) => string | undefined;
  readonly now: () => Date;
  /** Aborts on Ctrl-C. */
  readonly signal: AbortSignal;
  readonly createApi: (config: CliConfig) => WharfApi;
  readonly timers?: Timers;
}

/** What each command action receives: resolved settings and a lazily opened API. */
export interface CommandContext {
  readonly io: CliIo;
  readonly config: CliConfig;
  api(): WharfApi;
  /** Output helpers honouring --output. */
  print(text: string): void;
  note(text: string): void;
}

/** Opens clients only when a command needs them and remembers them for closing. */
export class ContextFactory {
  private opened: WharfApi[] = [];
  /** Set by an action that ends with a non-zero status without throwing (a failed job). */
  exitCode = 0;
  constructor(private readonly io: CliIo) {}

  for(command: Command): CommandContext {
    const flags = command.optsWithGlobals<Record<string, string | boolean | undefined>>();
    const config = resolveCliConfig({
      env: this.io.env,
      homeDir: this.io.homeDir,
      readFile: this.io.readFileIfExists,
      flags: {
        server: flags['server'] as string | undefined,
        token: flags['token'] as string | undefined,
        tls: flags['tls'] as boolean | undefined,
        caFile: flags['caFile'] as string | undefined,
        output: flags['output'] as string | undefined,
        timeout: flags['timeout'] as string | undefined,
        config: flags['config'] as string | undefined,
      },
    });
    let api: WharfApi | undefined;
    const io = this.io;
    return {
      io,
      config,
      api: () => {
        if (!api) {
          api = io.createApi(config);
          this.opened.push(api);
        }
        return api;
      },
      print: (text) => io.stdout.write(text),
      note: (text) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    };
  }

  close(): void {
    for (const api of this.opened) api.close();
    this.opened = [];
  }
}

/** Collects a repeatable flag's values (`--item a --item b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
