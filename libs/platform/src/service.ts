import { z } from 'zod';
import { ConfigError, describeConfig } from './config';
import { describeError, formatViolations, InvalidArgumentError } from './errors';

/** Settings every service has. Spread into each service's config schema. */
export const commonConfigShape = {
  logLevel: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('Minimum level of log lines written to stdout.'),
  shutdownTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(20_000)
    .describe('Deadline for a graceful stop after SIGTERM; keep it below the pod grace period.'),
  ops: z
    .object({
      host: z.string().default('127.0.0.1').describe('Address of the /healthz, /readyz and /metrics endpoint.'),
      port: z.number().int().min(0).max(65535).default(9464).describe('Port of the /healthz, /readyz and /metrics endpoint.'),
    })
    .prefault({}),
};

export const kafkaConfigShape = {
  kafka: z
    .object({
      brokers: z
        .array(z.string().min(1))
        .min(1)
        .default(['127.0.0.1:9092'])
        .describe('Kafka bootstrap brokers, comma-separated.'),
      clientId: z.string().optional().describe('Kafka client id. Default: the service name.'),
    })
    .prefault({}),
};

export const kubeConfigShape = {
  kube: z
    .object({
      kubeconfig: z
        .string()
        .optional()
        .describe('Path of a kubeconfig file. Default: in-cluster config, else ~/.kube/config.'),
      qps: z.number().positive().default(50).describe('Kubernetes API requests per second (client-side limit).'),
      burst: z.number().int().positive().default(100).describe('Kubernetes API request burst above qps.'),
    })
    .prefault({}),
};

/**
 * `secrets.sealKeyFile`: the key that seals secret values on their way through Kafka (ADR 0008).
 * `use` says what this service does with it.
 */
export function sealKeyConfigShape(use: string) {
  return {
    secrets: z
      .object({
        sealKeyFile: z.string().default('').describe(use),
      })
      .prefault({}),
  };
}

/**
 * Runs a service's `main`: `--help` prints every setting (flag, env, default, doc); a
 * configuration error prints every problem and exits 2; any other startup failure exits 1.
 */
export function serviceMain(name: string, schema: z.ZodObject, main: () => Promise<void>): void {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${name}: settings (flag / environment variable / default)\n\n`);
    for (const s of describeConfig(schema)) {
      const dflt = s.default === undefined ? '' : ` (default ${JSON.stringify(s.default)})`;
      process.stdout.write(`  ${s.flag}  ${s.env}  <${s.type}>${dflt}\n      ${s.description}\n`);
    }
    process.stdout.write('\n  --config <file>  WHARF_CONFIG  a YAML file with the same settings\n');
    return;
  }
  main().catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof InvalidArgumentError) {
      process.stderr.write(`${name}: invalid configuration:\n  ${formatViolations(error.violations).split('; ').join('\n  ')}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: failed to start: ${describeError(error)}\n`);
    process.exit(1);
  });
}
