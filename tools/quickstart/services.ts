/**
 * How the quickstart runs each service against the local stack: a YAML config file per
 * service (the same settings a Kustomize ConfigMap carries in a cluster), secrets by env.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export type ServiceName = 'scheduler' | 'job-launcher' | 'log-archiver' | 'stream-ingest';

export interface ServiceContext {
  readonly stackEnv: Record<string, string>;
  readonly quickDir: string;
  readonly token: string;
  /** The key sealing secrets between the scheduler and job-launcher / stream-ingest. */
  readonly sealKeyFile: string;
  readonly grpcPort: number;
  readonly ingressPort: number;
  readonly root: string;
}

/** The demo tenant, its namespace and the bucket of the log archive. */
export const Demo = { tenant: 'quickstart', namespace: 'default', bucket: 'wharf-logs' } as const;

interface ServiceDef {
  readonly name: ServiceName;
  args(ctx: ServiceContext): string[];
  env(ctx: ServiceContext): Record<string, string>;
}

function configFile(ctx: ServiceContext, name: ServiceName, config: unknown): string[] {
  const path = join(ctx.quickDir, `${name}.yaml`);
  writeFileSync(path, stringify(config));
  return ['--config', path];
}

const kubeconfig = (ctx: ServiceContext) => ctx.stackEnv['WHARF_KUBE_KUBECONFIG'] ?? '';

export const services: readonly ServiceDef[] = [
  {
    name: 'scheduler',
    args: (ctx) => {
      const tokensFile = join(ctx.quickDir, 'tokens.yaml');
      writeFileSync(tokensFile, stringify({ tenants: [{ name: Demo.tenant, tokens: [ctx.token] }] }), { mode: 0o600 });
      return configFile(ctx, 'scheduler', {
        grpc: { host: '127.0.0.1', port: ctx.grpcPort },
        auth: { tokensFile },
        secrets: { sealKeyFile: ctx.sealKeyFile },
        kube: { kubeconfig: kubeconfig(ctx) },
        queues: [
          {
            name: 'default',
            weight: 1,
            tenants: [Demo.tenant],
            namespaces: [Demo.namespace],
            quota: { cpu: 8, memory: '32Gi' },
            maxRunning: 20,
            defaultActiveDeadlineSeconds: 3_600,
            maxActiveDeadlineSeconds: 86_400,
          },
        ],
        archive: { s3Endpoint: ctx.stackEnv['WHARF_S3_ENDPOINT'], s3Region: ctx.stackEnv['WHARF_S3_REGION'] },
      });
    },
    env: (ctx) => ({
      WHARF_ARCHIVE_S3_ACCESS_KEY_ID: ctx.stackEnv['WHARF_S3_ACCESS_KEY_ID'] ?? '',
      WHARF_ARCHIVE_S3_SECRET_ACCESS_KEY: ctx.stackEnv['WHARF_S3_SECRET_ACCESS_KEY'] ?? '',
    }),
  },
  {
    name: 'job-launcher',
    args: (ctx) =>
      configFile(ctx, 'job-launcher', {
        kube: { kubeconfig: kubeconfig(ctx) },
        policy: { namespaces: [Demo.namespace], images: ['docker.io/library/*'] },
        secrets: { sealKeyFile: ctx.sealKeyFile },
      }),
    env: () => ({}),
  },
  {
    name: 'log-archiver',
    args: (ctx) =>
      configFile(ctx, 'log-archiver', {
        kube: { kubeconfig: kubeconfig(ctx) },
        archive: {
          store: 's3',
          s3: { endpoint: ctx.stackEnv['WHARF_S3_ENDPOINT'], region: ctx.stackEnv['WHARF_S3_REGION'], bucket: Demo.bucket },
        },
        archiver: { namespaces: [Demo.namespace] },
        leader: { namespace: Demo.namespace },
      }),
    env: (ctx) => ({
      WHARF_ARCHIVE_S3_ACCESS_KEY_ID: ctx.stackEnv['WHARF_S3_ACCESS_KEY_ID'] ?? '',
      WHARF_ARCHIVE_S3_SECRET_ACCESS_KEY: ctx.stackEnv['WHARF_S3_SECRET_ACCESS_KEY'] ?? '',
    }),
  },
  {
    name: 'stream-ingest',
    args: (ctx) =>
      configFile(ctx, 'stream-ingest', {
        ingress: { host: '127.0.0.1', port: ctx.ingressPort },
        secrets: { sealKeyFile: ctx.sealKeyFile },
      }),
    env: () => ({}),
  },
];
