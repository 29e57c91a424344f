import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { testInfra } from '@wharf/testing';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { loadKubeConfig } from './kube-config';

/**
 * Connections to the real apiserver, counted by a TCP relay on 127.0.0.1 in front of it (the
 * apiserver's certificate names 127.0.0.1, so TLS goes through the relay unchanged).
 */
describe('kubeconfig connections against a real apiserver', () => {
  let relay: Server;
  let relayPort = 0;
  let accepted = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    const upstream = new URL(loadServer());
    relay = createServer((client) => {
      accepted++;
      const server = connect(Number(upstream.port), '127.0.0.1');
      for (const s of [client, server]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          sockets.delete(s);
          client.destroy();
          server.destroy();
        });
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    relayPort = (relay.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  });

  function loadServer(): string {
    const kc = new KubeConfig();
    kc.loadFromFile(testInfra().kube.kubeconfigPath);
    return kc.getCurrentCluster()?.server ?? '';
  }

  /** `kc` with its cluster pointed at the relay. */
  function viaRelay(kc: KubeConfig): KubeConfig {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig without a current cluster');
    (kc.clusters as unknown[])[kc.clusters.indexOf(cluster)] = { ...cluster, server: `https://127.0.0.1:${relayPort}` };
    return kc;
  }

  async function connectionsFor(kc: KubeConfig, requests: number): Promise<number> {
    const before = accepted;
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < requests; i++) await core.listNamespace();
    return accepted - before;
  }

  it('makes ten requests over one connection (client-node as shipped opens one per request)', async () => {
    const shipped = new KubeConfig();
    shipped.loadFromFile(testInfra().kube.kubeconfigPath);
    expect(await connectionsFor(viaRelay(shipped), 10)).toBe(10);

    const ours = loadKubeConfig({ kubeconfigPath: testInfra().kube.kubeconfigPath });
    expect(await connectionsFor(viaRelay(ours), 10)).toBe(1);
  });
});
