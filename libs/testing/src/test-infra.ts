/**
 * How integration tests find the real servers. The jest globalSetup (jest/global-setup.ts)
 * starts them once per run and exports their connection settings as the same WHARF_*
 * environment variables the services read (see tools/infra `env`); tests read them here.
 */
export interface TestInfra {
  readonly kafka: { readonly brokers: string[] };
  readonly kube: { readonly kubeconfigPath: string };
  readonly s3: {
    readonly endpoint: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
  };
}

export const InfraEnv = {
  kafkaBrokers: 'WHARF_KAFKA_BROKERS',
  kubeconfig: 'WHARF_KUBE_KUBECONFIG',
  s3Endpoint: 'WHARF_S3_ENDPOINT',
  s3Region: 'WHARF_S3_REGION',
  s3AccessKeyId: 'WHARF_S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'WHARF_S3_SECRET_ACCESS_KEY',
} as const;

/** The servers of this test run. Thrown when the run was started without them. */
export function testInfra(): TestInfra {
  const env = process.env;
  const need = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new Error(
        `${name} is not set: integration tests run through jest.int.config.js, whose globalSetup starts the servers`,
      );
    }
    return value;
  };
  return {
    kafka: { get brokers() { return need(InfraEnv.kafkaBrokers).split(','); } },
    kube: { get kubeconfigPath() { return need(InfraEnv.kubeconfig); } },
    s3: {
      get endpoint() { return need(InfraEnv.s3Endpoint); },
      get region() { return env[InfraEnv.s3Region] ?? 'us-east-1'; },
      get accessKeyId() { return need(InfraEnv.s3AccessKeyId); },
      get secretAccessKey() { return need(InfraEnv.s3SecretAccessKey); },
    },
  };
}
