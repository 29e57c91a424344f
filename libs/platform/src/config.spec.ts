import { z } from 'zod';
import { ConfigError, describeConfig, envName, loadConfig } from './config';

const schema = z.object({
  logLevel: z.enum(['info', 'debug']).default('info').describe('Log level.'),
  kafka: z
    .object({
      brokers: z.array(z.string()).min(1).default(['127.0.0.1:9092']).describe('Brokers.'),
      clientId: z.string().optional(),
    })
    .prefault({}),
  grpc: z.object({ port: z.number().int().default(50051) }).prefault({}),
  tls: z.boolean().default(false),
});

const files: Record<string, string> = {
  '/etc/wharf.yaml': 'logLevel: debug\nkafka:\n  brokers: [file:1, file:2]\ngrpc:\n  port: 7000\n',
};
const readFile = (path: string) => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return text;
};

describe('loadConfig', () => {
  it('uses the schema defaults when nothing else is given', () => {
    const config = loadConfig(schema, { env: {}, argv: [] });
    expect(config).toEqual({ logLevel: 'info', kafka: { brokers: ['127.0.0.1:9092'] }, grpc: { port: 50051 }, tls: false });
  });

  it('layers defaults < file < env < flags', () => {
    const config = loadConfig(schema, {
      env: { WHARF_CONFIG: '/etc/wharf.yaml', WHARF_KAFKA_BROKERS: 'env:1,env:2', WHARF_GRPC_PORT: '8000' },
      argv: ['--grpc.port', '9000', '--tls'],
      readFile,
    });
    expect(config.logLevel).toBe('debug'); // file
    expect(config.kafka.brokers).toEqual(['env:1', 'env:2']); // env over file
    expect(config.grpc.port).toBe(9000); // flag over env over file
    expect(config.tls).toBe(true); // bare flag
  });

  it('takes the file from --config over WHARF_CONFIG', () => {
    const config = loadConfig(schema, { env: { WHARF_CONFIG: '/nope' }, argv: ['--config=/etc/wharf.yaml'], readFile });
    expect(config.grpc.port).toBe(7000);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig(schema, { env: {}, argv: [] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
  });

  it('lists every problem at once, naming where each value came from', () => {
    let error: unknown;
    try {
      loadConfig(schema, {
        env: { WHARF_GRPC_PORT: 'abc', WHARF_TLS: 'maybe' },
        argv: ['--nope=1', '--logLevel=loud', 'stray'],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const fields = (error as ConfigError).violations.map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining(['env WHARF_GRPC_PORT', 'env WHARF_TLS', '--nope', 'stray', expect.stringMatching(/^logLevel /)]),
    );
    expect((error as ConfigError).violations).toHaveLength(5);
    expect((error as Error).message).toContain("expected a number, got 'abc'");
  });

  it('reports an unreadable config file as a problem, not a crash', () => {
    expect(() => loadConfig(schema, { env: {}, argv: ['--config', '/missing.yaml'], readFile })).toThrow(
      /\/missing.yaml: cannot read config file/,
    );
  });
});

describe('describeConfig', () => {
  it('derives env names, flags, types and defaults from the schema', () => {
    const rows = describeConfig(schema);
    expect(rows.find((r) => r.path === 'kafka.brokers')).toEqual({
      path: 'kafka.brokers',
      env: 'WHARF_KAFKA_BROKERS',
      flag: '--kafka.brokers',
      type: 'list',
      default: ['127.0.0.1:9092'],
      description: 'Brokers.',
    });
    expect(envName('WHARF', ['kafka', 'clientId'])).toBe('WHARF_KAFKA_CLIENT_ID');
  });
});
