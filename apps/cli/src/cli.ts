import { Command, CommanderError } from 'commander';
import { CliError, ExitCodes } from './cli-errors';
import { ContextFactory, type CliIo } from './cli-context';
import { registerJobCommands } from './job-commands';
import { registerQueueCommands } from './queue-commands';
import { registerStreamCommands } from './stream-commands';
import { registerWorkflowCommands } from './workflow-commands';

export const CLI_VERSION = '0.1.0';

/** The `wharf` command tree, writing through `io`. */
export function buildProgram(io: CliIo, contexts: ContextFactory): Command {
  const program = new Command('wharf')
    .description('Run batch jobs, workflows and streams on Kubernetes with Wharf.')
    .version(CLI_VERSION)
    .option(
      '-s, --server <host:port>',
      'scheduler gRPC address (env WHARF_SERVER; default 127.0.0.1:50051)',
    )
    .option('--token <token>', 'bearer token (env WHARF_TOKEN)')
    .option('--tls', 'connect with TLS (env WHARF_TLS)')
    .option('--ca-file <pem>', 'CA certificate of the server; implies --tls (env WHARF_CA_FILE)')
    .option('-o, --output <format>', 'table, json or yaml (env WHARF_OUTPUT)')
    .option('--timeout <ms>', 'deadline of each call in ms (env WHARF_TIMEOUT_MS; default 15000)')
    .option(
      '--config <file>',
      'settings file (env WHARF_CLI_CONFIG; default ~/.config/wharf/config.yaml)',
    )
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  registerJobCommands(program, contexts);
  registerWorkflowCommands(program, contexts);
  registerStreamCommands(program, contexts);
  registerQueueCommands(program, contexts);
  // Every (sub)command reports usage errors instead of exiting, so runCli owns the exit code.
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI; resolves with the process exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const contexts = new ContextFactory(io);
  const program = buildProgram(io, contexts);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return contexts.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" with exit code 0; usage errors were already printed.
      return error.exitCode === 0 ? 0 : ExitCodes.usage;
    }
    if (io.signal.aborted) return 130;
    const message =
      error instanceof CliError
        ? error.message
        : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    io.stderr.write(`wharf: ${message}\n`);
    return error instanceof CliError ? error.exitCode : ExitCodes.failure;
  } finally {
    contexts.close();
  }
}
