import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  Wait,
  type StartedTestContainer,
} from 'testcontainers';
import { testInfra } from '../test-infra';
import { ContainerRoleLabel, dockerUnavailableReason } from './container-infra';

/**
 * Each service image, started on the local Docker engine against this run's servers, reaches
 * ready (its HEALTHCHECK, i.e. /readyz) and serves /healthz. Needs the images
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
    let container = new GenericContainer(`wharf/${service}:${tag}`)
      // Host networking: the servers of this run listen on 127.0.0.1 only.
      .withNetworkMode('host')
      .withEnvironment(env)
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
    } finally {
      await started?.stop({ timeout: 25_000 });
    }
  });
});
