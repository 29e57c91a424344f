import { Command } from 'commander';

// The wharf CLI: a friendly gRPC client of the scheduler. Commands are added per area.
const program = new Command('wharf')
  .description('Run batch jobs, workflows and streams on Kubernetes with Wharf.')
  .version('0.1.0');

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`wharf: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
