import { eventually, testInfra, uniqueName } from '@wharf/testing';
import pino from 'pino';
import { createKubeClient, type KubeClient } from './kube-client';
import { loadKubeConfig } from './kube-config';
import { LeaderElector } from './leader-elector';

const logger = pino({ level: 'silent' });

describe('LeaderElector against a real apiserver', () => {
  let kube: KubeClient;
  let namespace: string;

  beforeAll(async () => {
    kube = createKubeClient({
      kubeConfig: loadKubeConfig({ kubeconfigPath: testInfra().kube.kubeconfigPath }),
    });
    namespace = uniqueName('ns');
    await kube.create('namespace', { metadata: { name: namespace } });
  });
  afterAll(async () => {
    await kube.delete('namespace', { name: namespace }).catch(() => undefined);
  });

  const elector = (identity: string, leaseName: string, releaseOnStop = true) =>
    new LeaderElector({
      kube,
      logger,
      namespace,
      leaseName,
      identity,
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 300,
      releaseOnStop,
    });

  it('elects one of two; the other takes over when the leader stops', async () => {
    const leaseName = uniqueName('lease');
    const a = elector('a', leaseName);
    const b = elector('b', leaseName);
    await a.start();
    await eventually(() => expect(a.isLeader()).toBe(true), { description: 'a leads' });
    await b.start();
    await eventually(() => expect(b.leader()).toBe('a'), { description: 'b sees a' });
    expect(b.isLeader()).toBe(false);

    await a.stop();
    expect(a.isLeader()).toBe(false);
    await eventually(() => expect(b.isLeader()).toBe(true), { description: 'b takes over' });
    const lease = await kube.get('lease', { namespace, name: leaseName });
    expect(lease.spec?.holderIdentity).toBe('b');
    expect(lease.spec?.leaseTransitions).toBe(1);
    await b.stop();
  });

  it('takes over a lease whose holder vanished without releasing it, after it expired', async () => {
    const leaseName = uniqueName('lease');
    const a = elector('a', leaseName, false);
    const b = elector('b', leaseName);
    await a.start();
    await eventually(() => expect(a.isLeader()).toBe(true), { description: 'a leads' });
    await b.start();
    await eventually(() => expect(b.leader()).toBe('a'), { description: 'b sees a' });
    await a.stop();
    const stoppedAt = Date.now();
    await eventually(() => expect(b.isLeader()).toBe(true), { description: 'b takes over' });
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(2_000);
    await b.stop();
  });
});
