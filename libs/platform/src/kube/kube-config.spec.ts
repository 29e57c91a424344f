import { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from './kube-config';

/** A kubeconfig with an https cluster and a token user (no network is touched). */
function kubeConfig(caData: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData, skipTLSVerify: false }],
    users: [{ name: 'u', token: 'not-a-real-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** The dispatcher (connection pool) client-node gives one request. */
async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  let dispatcher: unknown;
  const context = { setHeaderParam: () => undefined, setDispatcher: (d: unknown) => (dispatcher = d) };
  await kc.applySecurityAuthentication(context as never);
  return dispatcher;
}

const ca = (text: string) => Buffer.from(text).toString('base64');

describe('reuseConnections', () => {
  it('is needed: client-node gives each request a new connection pool', async () => {
    const kc = kubeConfig(ca('ca-1'));
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    expect(await dispatcherOf(kc)).not.toBe(first);
  });

  it('gives every request the same pool while the TLS options stay the same', async () => {
    const kc = kubeConfig(ca('ca-1'));
    reuseConnections(kc);
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(first);
    expect(await dispatcherOf(kc)).toBe(first);
  });

  it('starts a new pool when the CA changes (a rotated file is read on the next request)', async () => {
    const kc = kubeConfig(ca('ca-1'));
    reuseConnections(kc);
    const first = await dispatcherOf(kc);
    const cluster = kc.getCurrentCluster() as { caData?: string };
    (kc.clusters as { caData?: string }[])[0] = { ...cluster, caData: ca('ca-2') };
    const second = await dispatcherOf(kc);
    expect(second).not.toBe(first);
    expect(await dispatcherOf(kc)).toBe(second);
  });
});
