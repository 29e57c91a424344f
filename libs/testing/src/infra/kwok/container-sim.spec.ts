import { configMapFileOf } from './container-sim';

type Pod = Parameters<typeof configMapFileOf>[0];

const pod = (volume: Record<string, unknown>): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u', annotations: { 'batch.kubernetes.io/job-completion-index': '7' } },
  spec: {
    containers: [
      {
        name: 'main',
        env: [{ name: 'WHARF_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }],
        volumeMounts: [
          { name: 'wharf-inputs', mountPath: '/var/run/wharf/item', subPathExpr: 'item-$(WHARF_INDEX)' },
          { name: 'wharf-inputs', mountPath: '/var/run/wharf/inputs.json', subPath: 'inputs.json' },
        ],
      },
    ],
    volumes: [{ name: 'wharf-inputs', ...volume }],
  },
});

describe('configMapFileOf (the simulated kubelet file lookup)', () => {
  it('finds the key of a subPathExpr mount of a ConfigMap volume', () => {
    const p = pod({ configMap: { name: 'j-inputs' } });
    const main = p.spec.containers[0];
    expect(main && configMapFileOf(p, main, '/var/run/wharf/item')).toEqual({ configMaps: ['j-inputs'], key: 'item-7' });
  });

  it('looks in every ConfigMap source of a projected volume, in order', () => {
    const p = pod({ projected: { sources: [{ configMap: { name: 'j-inputs' } }, { configMap: { name: 'j-inputs-1' } }] } });
    const main = p.spec.containers[0];
    expect(main && configMapFileOf(p, main, '/var/run/wharf/item')).toEqual({ configMaps: ['j-inputs', 'j-inputs-1'], key: 'item-7' });
    expect(main && configMapFileOf(p, main, '/var/run/wharf/inputs.json')).toEqual({ configMaps: ['j-inputs', 'j-inputs-1'], key: 'inputs.json' });
    expect(main && configMapFileOf(p, main, '/etc/other')).toBeUndefined();
  });
});
