import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  Wait,
  type StartedTestContainer,
} from 'testcontainers';
import { parse } from 'yaml';
import { testInfra } from '../test-infra';
import { ContainerRoleLabel, dockerUnavailableReason } from './container-infra';

/**
 * Each service image, started on the local Docker engine against this run's servers the way its
 * Deployment starts it (see {@link asDeployed}), reaches ready (its HEALTHCHECK, i.e. /readyz)
 * and serves /healthz. Needs the images
 * (tools/images/build.sh services) and a Docker engine, so it runs only from .ci/docker.sh
 * (WHARF_CONTAINERS=1, see jest.int.config.js), which guarantees both; without them it fails.
 */
const services = ['scheduler', 'job-launcher', 'log-archiver', 'stream-ingest'] as const;
const tag = process.env['WHARF_IMAGE_TAG'] ?? 'dev';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * What the kubelet would run for the service's container in deploy/base/<service>: its
 * `command` and `args` (unset: the image's entrypoint), with the runtime env the Deployment
 * loads from node-runtime.env (when the service has one) and `$(NAME)` references expanded
 * from that env as Kubernetes expands them (`$$` for a literal `$`; unknown names stay).
 */
function asDeployed(service: string): {
  command?: string[];
  args?: string[];
  env: Record<string, string>;
} {
  const base = resolve(__dirname, '../../../../deploy/base', service);
  const env: Record<string, string> = {};
  const runtimeFile = resolve(base, 'node-runtime.env');
  if (existsSync(runtimeFile)) {
    for (const line of readFileSync(runtimeFile, 'utf8').split('\n')) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (match) env[match[1] as string] = match[2] as string;
    }
  }
  const deployment = parse(readFileSync(resolve(base, 'deployment.yaml'), 'utf8')) as {
    spec: {
      template: { spec: { containers: { name: string; command?: string[]; args?: string[] }[] } };
    };
  };
  const container = deployment.spec.template.spec.containers.find((c) => c.name === service);
  if (!container)
    throw new Error(`deploy/base/${service}/deployment.yaml has no container named ${service}`);
  const expand = (value: string): string =>
    value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name?: string) =>
      name === undefined ? '$' : (env[name] ?? whole),
    );
  return {
    ...(container.command ? { command: container.command.map(expand) } : {}),
    ...(container.args ? { args: container.args.map(expand) } : {}),
    env,
  };
}

async function missing(): Promise<string | undefined> {
  const reason = await dockerUnavailableReason();
  if (reason) return `no Docker engine: ${reason}`;
  const client = await getContainerRuntimeClient();
  for (const service of services) {
    if (!(await client.image.exists(ImageName.fromString(`wharf/${service}:${tag}`)))) {
      return `image wharf/${service}:${tag} not built (bash tools/images/build.sh services)`;
    }
  }
  return undefined;
}

describe('service images', () => {
  beforeAll(async () => {
    const reason = await missing();
    if (reason) throw new Error(`cannot check the service images: ${reason}`);
  });

  it.each(services)('%s starts against the local infra and reports ready', async (service) => {
    const infra = testInfra();
    const opsPort = await freePort();
    const env: Record<string, string> = {
      WHARF_OPS_HOST: '127.0.0.1',
      WHARF_OPS_PORT: String(opsPort),
      WHARF_GRPC_HOST: '127.0.0.1',
      WHARF_GRPC_PORT: String(await freePort()),
      WHARF_INGRESS_HOST: '127.0.0.1',
      WHARF_INGRESS_PORT: String(await freePort()),
      WHARF_KAFKA_BROKERS: infra.kafka.brokers.join(','),
      WHARF_LOG_LEVEL: 'info',
      // The scheduler requires a tokens file; log-archiver archives to its filesystem store.
      WHARF_AUTH_TOKENS_FILE: '/tmp/tokens.yaml',
      WHARF_ARCHIVE_FILESYSTEM_ROOT: '/tmp/archive',
    };
    const deployed = asDeployed(service);
    let container = new GenericContainer(`wharf/${service}:${tag}`)
      // Host networking: the servers of this run listen on 127.0.0.1 only.
      .withNetworkMode('host')
      .withEnvironment({ ...deployed.env, ...env })
      .withLabels({ [ContainerRoleLabel]: `test-image-${service}` })
      .withCopyContentToContainer([
        {
          content: "tenants:\n  - name: images-test\n    tokens: ['images-test-token-0001']\n",
          target: '/tmp/tokens.yaml',
          mode: 0o444,
        },
      ])
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000);
    // Like Kubernetes: `command` replaces the image's entrypoint (and its CMD), `args` its CMD.
    if (deployed.command)
      container = container.withEntrypoint(deployed.command).withCommand(deployed.args ?? []);
    else if (deployed.args) container = container.withCommand(deployed.args);
    if (process.env['WHARF_KUBE_KUBECONFIG']) {
      container = container
        .withCopyContentToContainer([
          {
            content: readFileSync(infra.kube.kubeconfigPath, 'utf8'),
            target: '/tmp/kubeconfig',
            mode: 0o444,
          },
        ])
        .withEnvironment({ WHARF_KUBE_KUBECONFIG: '/tmp/kubeconfig' });
    }
    let started: StartedTestContainer | undefined;
    try {
      const running = await container.start();
      started = running;
      const health = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
      expect(ready.status).toBe(200);
      const inspect = await getContainerRuntimeClient().then((c) =>
        c.container.inspect(c.container.getById(running.getId())),
      );
      expect(inspect.Config.User).toBe('10001:10001');
      if (deployed.command) {
        // The process tini started is the Deployment's command after `--`, flags expanded.
        const listing = await running.exec([
          'bash',
          '-c',
          'for f in /proc/[0-9]*/cmdline; do cat "$f"; echo; done',
        ]);
        const processes = listing.output
          .split('\n')
          .map((line) => line.split('\0').filter(Boolean).join(' '));
        expect(processes).toContain(
          deployed.command.slice(deployed.command.indexOf('--') + 1).join(' '),
        );
      }
    } finally {
      await started?.stop({ timeout: 25_000 });
    }
  });
});
