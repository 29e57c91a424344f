import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../eventually';
import { ensureInstalled } from './install';
import { startKube, type KubeServer } from './kube';

// Fault hooks on a dedicated control plane, so the run's shared cluster is never disturbed.
describe('fault hooks on a dedicated Kubernetes control plane', () => {
  let kube: KubeServer;
  let workDir: string;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wharf-faults-'));
    kube = await startKube({ binDir: ensureInstalled('kube'), workDir, nodes: 1 });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  afterAll(async () => {
    await kube?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('lets a client observe the apiserver killed with -9 and restarted, with state intact', async () => {
    await core.createNamespace({ body: { metadata: { name: 'survivor' } } });
    await kube.processes.apiserver.kill();
    await expect(core.listNamespace()).rejects.toThrow(/ECONNREFUSED|fetch failed|connect/i);
    await kube.processes.apiserver.start();
    const names = await eventually(async () => (await core.listNamespace()).items.map((n) => n.metadata?.name), {
      timeoutMs: 60_000,
      description: 'the restarted apiserver to answer',
    });
    expect(names).toContain('survivor');
  });

  it('lets a client observe a paused (SIGSTOP) apiserver as a stall, and recover on resume', async () => {
    kube.processes.apiserver.pause();
    try {
      const stalled = await Promise.race([
        core.listNamespace().then(() => 'answered'),
        new Promise((resolve) => setTimeout(() => resolve('stalled'), 2_000)),
      ]);
      expect(stalled).toBe('stalled');
    } finally {
      kube.processes.apiserver.resume();
    }
    await eventually(async () => expect((await core.listNamespace()).items.length).toBeGreaterThan(0), {
      timeoutMs: 30_000,
      description: 'the resumed apiserver to answer',
    });
  });
});
