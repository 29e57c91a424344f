import type { V1ConfigMap } from '@kubernetes/client-node';
import { KubeLabels } from '@wharf/contracts';
import { eventually, TcpProxy, testInfra, uniqueName } from '@wharf/testing';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Informer } from './informer';
import { createKubeClient, type KubeClient } from './kube-client';
import { loadKubeConfig } from './kube-config';

const logger = pino({ level: 'silent' });
const managed = { [KubeLabels.managedBy]: KubeLabels.managedByValue };

describe('Informer against a real apiserver', () => {
  let kube: KubeClient;
  let namespace: string;
  const stoppers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    kube = createKubeClient({
      kubeConfig: loadKubeConfig({ kubeconfigPath: testInfra().kube.kubeconfigPath }),
    });
    namespace = uniqueName('ns');
    await kube.create('namespace', { metadata: { name: namespace } });
  });
  afterEach(async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
  });
  afterAll(async () => {
    await kube.delete('namespace', { name: namespace }).catch(() => undefined);
  });

  function record(informer: Informer<V1ConfigMap>): string[] {
    const events: string[] = [];
    informer.subscribe({
      add: (o) => events.push(`add ${o.metadata?.name}`),
      update: (o, old) => {
        if (o !== old) events.push(`update ${o.metadata?.name} ${o.data?.['v']}`);
      },
      delete: (o) => events.push(`delete ${o.metadata?.name}`),
    });
    return events;
  }

  it('sees adds, updates and deletes of the selected objects only', async () => {
    const existing = uniqueName('cm');
    await kube.create('configMap', {
      metadata: { namespace, name: existing, labels: managed },
      data: { v: '0' },
    });
    await kube.create('configMap', {
      metadata: { namespace, name: uniqueName('unlabelled') },
      data: { v: '0' },
    });
    const informer = new Informer<V1ConfigMap>({
      source: kube.listWatch('configMap', {
        namespace,
        labelSelector: `${KubeLabels.managedBy}=wharf`,
      }),
      logger,
    });
    const events = record(informer);
    stoppers.push(() => informer.stop());
    await informer.start();
    await informer.waitForSync();
    expect(events).toEqual([`add ${existing}`]);

    const name = uniqueName('cm');
    await kube.create('configMap', {
      metadata: { namespace, name, labels: managed },
      data: { v: '1' },
    });
    await kube.mergePatch('configMap', { namespace, name }, { data: { v: '2' } });
    await kube.delete('configMap', { namespace, name });
    await eventually(
      () => expect(events.slice(1)).toEqual([`add ${name}`, `update ${name} 2`, `delete ${name}`]),
      {
        description: 'watch events',
      },
    );
    expect(informer.list().map((o) => o.metadata?.name)).toEqual([existing]);
  });

  it('recovers when its connection is cut or silently stalls, and misses nothing', async () => {
    const kubeConfig = loadKubeConfig({ kubeconfigPath: testInfra().kube.kubeconfigPath });
    const server = new URL(kubeConfig.getCurrentCluster()?.server ?? '');
    const proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port) });
    stoppers.push(() => proxy.stop());
    kubeConfig.loadFromOptions({
      clusters: kubeConfig.clusters.map((c) => ({
        ...c,
        server: `https://127.0.0.1:${proxy.port}`,
      })),
      users: kubeConfig.users,
      contexts: kubeConfig.contexts,
      currentContext: kubeConfig.currentContext,
    });
    const throughProxy = createKubeClient({ kubeConfig });
    const selector = `${KubeLabels.jobId}=${uniqueName('sel')}`;
    const labels = { [KubeLabels.jobId]: selector.split('=')[1] ?? '' };
    const lines: string[] = [];
    const captured = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const informer = new Informer<V1ConfigMap>({
      source: throughProxy.listWatch('configMap', { namespace, labelSelector: selector }),
      logger: captured,
      stallTimeoutMs: 3_000,
      backoff: { minDelayMs: 100, maxDelayMs: 500 },
    });
    const events = record(informer);
    stoppers.push(() => informer.stop());
    await informer.start();
    await informer.waitForSync();

    const a = uniqueName('a');
    await kube.create('configMap', { metadata: { namespace, name: a, labels } });
    await eventually(() => expect(events).toContain(`add ${a}`), { description: 'a seen' });

    // A reset connection: the watch fails, the informer backs off and watches again.
    proxy.cut();
    const b = uniqueName('b');
    await kube.create('configMap', { metadata: { namespace, name: b, labels } });
    await eventually(() => expect(events).toContain(`add ${b}`), {
      description: 'b seen after the cut',
    });

    // A silent stall: nothing arrives, nothing fails, until the watchdog gives up on the watch.
    proxy.stall();
    const c = uniqueName('c');
    await kube.create('configMap', { metadata: { namespace, name: c, labels } });
    await eventually(() => expect(lines.join('')).toContain('WatchStalledError'), {
      timeoutMs: 20_000,
      description: 'the watchdog to fire',
    });
    expect(events).not.toContain(`add ${c}`);
    proxy.resume();
    await eventually(() => expect(events).toContain(`add ${c}`), {
      timeoutMs: 20_000,
      description: 'c seen after the stall',
    });
    expect(events.filter((e) => e.startsWith('add'))).toEqual([`add ${a}`, `add ${b}`, `add ${c}`]);
  });
});
