import { ArchiveFinalizer, ExitCodeRule_Action, KubeLabels } from '@wharf/contracts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRun, seed000 } from '@wharf/testing';
import { configMapName, inputsChunkName, isDnsLabel, isDnsSubdomain, kubeJobName, secretName } from './launch-names';
import { defaultRenderOptions, inputsChunkBytes, inputsChunkViolations, inputsEntryBytes, itemShellScript, ownedBy, renderRun } from './job-renderer';
import { restrictedPodViolations } from './pod-security';

describe('kubeJobName', () => {
  it('is a DNS label of at most 63 characters, deterministic, and unique by hash', () => {
    const long = 'a'.repeat(63);
    const name = kubeJobName(long, 999_999);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(isDnsLabel(name)).toBe(true);
    expect(kubeJobName(long, 999_999)).toBe(name);
    expect(kubeJobName(`${'a'.repeat(50)}-x`, 1)).not.toBe(kubeJobName(`${'a'.repeat(50)}-y`, 1));
    expect(kubeJobName('demo', 1)).not.toBe(kubeJobName('demo', 2));
    expect(kubeJobName('demo', 3)).toMatch(/^w-demo-r3-[0-9a-f]{8}$/);
  });
});

describe('renderRun', () => {
  it("renders seed 000's example as an Indexed Job with one item per index", () => {
    const command = seed000();
    const { job, configMaps, secret } = renderRun(command);
    const [configMap] = configMaps;
    const name = kubeJobName(command.jobId, 1);
    expect(job.metadata.name).toBe(name);
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 5, parallelism: 3, backoffLimitPerIndex: 0, suspend: true });
    expect(job.metadata.labels).toMatchObject({
      [KubeLabels.managedBy]: 'wharf',
      [KubeLabels.jobId]: command.jobId,
      [KubeLabels.run]: '1',
    });
    expect(job.metadata.annotations).toMatchObject({ 'wharf.dev/job-id': command.jobId, 'wharf.dev/run': '1', 'wharf.dev/tenant': 'team-a' });
    expect(job.metadata.finalizers).toEqual([ArchiveFinalizer]);
    expect(secret).toBeUndefined();
    expect(configMaps).toHaveLength(1);
    expect(configMap?.metadata.name).toBe(configMapName(name));
    expect(configMap?.data).toEqual({
      'inputs.json': '{}',
      'item-0': 'foo',
      'item-1': 'bar',
      'item-2': 'baz',
      'item-3': 'qux',
      'item-4': 'xyz',
    });
    const pod = job.spec?.template.spec;
    const main = pod?.containers[0];
    expect(main?.name).toBe('main');
    expect(main?.command).toEqual(['/bin/sh', '-c', itemShellScript, 'wharf-item', 'rev', '/var/run/wharf/item']);
    expect(main?.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'wharf-inputs', mountPath: '/var/run/wharf/item', subPathExpr: 'item-$(WHARF_INDEX)', readOnly: true },
        { name: 'wharf-inputs', mountPath: '/var/run/wharf/inputs.json', subPath: 'inputs.json', readOnly: true },
      ]),
    );
    expect(main?.env).toEqual(
      expect.arrayContaining([
        { name: 'WHARF_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
        { name: 'WHARF_INPUTS', valueFrom: { configMapKeyRef: { name: configMapName(name), key: 'inputs.json' } } },
      ]),
    );
    expect(pod?.restartPolicy).toBe('Never');
  });

  it('is deterministic', () => {
    expect(JSON.stringify(renderRun(seed000()))).toBe(JSON.stringify(renderRun(seed000())));
  });

  it('renders the restricted Pod Security profile', () => {
    const pod = renderRun(seed000()).job.spec?.template.spec;
    expect(pod && restrictedPodViolations(pod)).toEqual([]);
    expect(pod?.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod?.containers[0]?.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.hostNetwork).toBeUndefined();
    expect(pod?.nodeName).toBeUndefined();
  });

  it('needs one object for a single-pod job without inputs or secrets', () => {
    const { job, configMaps, secret } = renderRun(launchRun({}, { command: ['true'] }));
    expect(configMaps).toEqual([]);
    expect(secret).toBeUndefined();
    expect(job.spec?.suspend).toBeUndefined();
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 1, parallelism: 1 });
    const pod = job.spec?.template;
    expect(pod?.metadata?.annotations?.['wharf.dev/inputs']).toBe('{}');
    expect(pod?.spec.containers[0]?.env).toContainEqual({ name: 'WHARF_INPUTS', value: '{}' });
    expect(pod?.spec.containers[0]?.command).toEqual(['true']);
  });

  it('puts inline secret values only in the owned Secret', () => {
    const canary = 'canary-7f3a9-s3cr3t';
    const command = launchRun({}, { secrets: [{ env: 'API_TOKEN', value: canary }, { env: 'DB', secretRef: { name: 'db', key: 'password' } }], inputs: { a: 1 } });
    const { job, secret, configMaps } = renderRun(command);
    const [configMap] = configMaps;
    const name = job.metadata.name ?? '';
    expect(JSON.stringify(job)).not.toContain(canary);
    expect(JSON.stringify(configMap)).not.toContain(canary);
    expect(secret?.metadata.name).toBe(secretName(name));
    expect(secret?.data).toEqual({ API_TOKEN: Buffer.from(canary).toString('base64') });
    expect(secret?.immutable).toBe(true);
    expect(job.spec?.suspend).toBe(true);
    expect(job.spec?.template.spec.containers[0]?.env).toEqual(
      expect.arrayContaining([
        { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: secretName(name), key: 'API_TOKEN' } } },
        { name: 'DB', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      ]),
    );
    expect(configMap?.data).toEqual({ 'inputs.json': '{"a":1}' });
  });

  it('turns exit-code rules into a podFailurePolicy and sets deadline and per-index backoff', () => {
    const { job } = renderRun(
      launchRun(
        {},
        {
          activeDeadlineSeconds: 30,
          retry: {
            backoffLimitPerIndex: 1,
            maxAttempts: 0,
            backoffSeconds: 0,
            exitCodeRules: [
              { action: ExitCodeRule_Action.ACTION_FAIL_JOB, exitCodes: [42, 3, 42] },
              { action: ExitCodeRule_Action.ACTION_IGNORE, exitCodes: [143] },
              { action: ExitCodeRule_Action.ACTION_FAIL_INDEX, exitCodes: [7] },
            ],
          },
          resources: { cpu: '250m', memory: '64Mi', gpu: 1 },
        },
      ),
    );
    expect(job.spec?.activeDeadlineSeconds).toBe(30);
    expect(job.spec?.backoffLimitPerIndex).toBe(1);
    expect(job.spec?.podFailurePolicy?.rules).toEqual([
      { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [3, 42] } },
      { action: 'Ignore', onExitCodes: { containerName: 'main', operator: 'In', values: [143] } },
      { action: 'FailIndex', onExitCodes: { containerName: 'main', operator: 'In', values: [7] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
    ]);
    expect(job.spec?.template.spec.containers[0]?.resources).toEqual({
      requests: { cpu: '250m', memory: '64Mi', 'nvidia.com/gpu': '1' },
      limits: { memory: '64Mi', 'nvidia.com/gpu': '1' },
    });
  });

  it('leaves the finalizer off when configured so, and copies spec annotations to pods', () => {
    const { job } = renderRun(launchRun({}, { annotations: { 'wharf.dev/sim-exit-code': '1', team: 'x' } }), {
      ...defaultRenderOptions,
      archiveFinalizer: false,
    });
    expect(job.metadata.finalizers).toBeUndefined();
    expect(job.spec?.template.metadata?.annotations).toMatchObject({ 'wharf.dev/sim-exit-code': '1', team: 'x' });
  });

  it('owns Secret and ConfigMap by the Job', () => {
    const [configMap] = renderRun(seed000()).configMaps;
    const owned = configMap && ownedBy(configMap, { name: 'w-x', uid: 'u-1' });
    expect(owned?.metadata.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name: 'w-x', uid: 'u-1', controller: true, blockOwnerDeletion: false },
    ]);
  });
});

describe('renderRun: items spread over inputs ConfigMaps ("chunks")', () => {
  const items = (n: number, make: (i: number) => string = String) => Array.from({ length: n }, (_, i) => make(i));
  const withBudget = (inputsChunkBytes: number) => ({ ...defaultRenderOptions, inputsChunkBytes });
  const keysOf = (run: ReturnType<typeof renderRun>) => run.configMaps.map((cm) => Object.keys(cm.data));

  it('renders a small run exactly as before: one ConfigMap, mounted as a configMap volume', () => {
    const { job, configMaps } = renderRun(seed000());
    const name = kubeJobName(seed000().jobId, 1);
    expect(configMaps.map((cm) => cm.metadata.name)).toEqual([configMapName(name)]);
    expect(job.spec?.template.spec.volumes).toEqual([{ name: 'wharf-inputs', configMap: { name: configMapName(name), defaultMode: 0o444 } }]);
  });

  it('fills a chunk up to the budget exactly, and starts the next one when an entry does not fit', () => {
    // inputs.json "{}" counts 11 + 2 + 16 = 29 bytes, each item-<i> "aaaa" 6 + 4 + 16 = 26.
    expect(inputsEntryBytes('inputs.json', '{}')).toBe(29);
    expect(inputsEntryBytes('item-0', 'aaaa')).toBe(26);
    const command = launchRun({}, { items: items(5, () => 'aaaa') });
    expect(keysOf(renderRun(command, withBudget(29 + 2 * 26)))).toEqual([
      ['inputs.json', 'item-0', 'item-1'],
      ['item-2', 'item-3', 'item-4'],
    ]);
    expect(keysOf(renderRun(command, withBudget(29 + 2 * 26 - 1)))).toEqual([['inputs.json', 'item-0'], ['item-1', 'item-2', 'item-3'], ['item-4']]);
    // Multi-byte characters count as their UTF-8 bytes.
    expect(inputsEntryBytes('item-0', 'é')).toBe(6 + 2 + 16);
  });

  it('spreads 100,000 items over chunks of at most the budget, projected into the one wharf-inputs volume', () => {
    const command = launchRun({}, { items: items(100_000), parallelism: 10, command: ['work'] });
    const rendered = renderRun(command);
    const { job, configMaps } = rendered;
    const name = kubeJobName(command.jobId, 1);
    const names = configMaps.map((cm) => cm.metadata.name ?? '');
    expect(names).toEqual([`${name}-inputs`, `${name}-inputs-1`, `${name}-inputs-2`, `${name}-inputs-3`]);
    for (const cm of configMaps) {
      expect(inputsChunkBytes(cm)).toBeLessThanOrEqual(defaultRenderOptions.inputsChunkBytes);
      // What Kubernetes counts against its 1 MiB: keys and values.
      expect(Object.entries(cm.data).reduce((n, [k, v]) => n + k.length + v.length, 0)).toBeLessThan(1024 * 1024);
      expect(cm.immutable).toBe(true);
      expect(cm.metadata.labels).toMatchObject({ [KubeLabels.jobId]: command.jobId, [KubeLabels.run]: '1' });
    }
    // Every item once, in order, inputs.json only in chunk 0.
    const keys = keysOf(rendered).flat();
    expect(keys).toEqual(['inputs.json', ...items(100_000, (i) => `item-${i}`)]);
    expect(configMaps.map((cm) => 'inputs.json' in cm.data)).toEqual([true, false, false, false]);
    expect(configMaps[3]?.data['item-99999']).toBe('99999');
    expect(inputsChunkViolations(rendered)).toEqual([]);

    const pod = job.spec?.template.spec;
    expect(pod?.volumes).toEqual([
      { name: 'wharf-inputs', projected: { defaultMode: 0o444, sources: names.map((n) => ({ configMap: { name: n } })) } },
    ]);
    // The container contract is unchanged: the same mounts and env.
    const main = pod?.containers[0];
    expect(main?.volumeMounts).toEqual([
      { name: 'wharf-inputs', mountPath: '/var/run/wharf/inputs.json', subPath: 'inputs.json', readOnly: true },
      { name: 'wharf-inputs', mountPath: '/var/run/wharf/item', subPathExpr: 'item-$(WHARF_INDEX)', readOnly: true },
    ]);
    expect(main?.env).toContainEqual({ name: 'WHARF_INPUTS', valueFrom: { configMapKeyRef: { name: `${name}-inputs`, key: 'inputs.json' } } });
    expect(main?.command?.slice(0, 4)).toEqual(['/bin/sh', '-c', itemShellScript, 'wharf-item']);
    expect(job.spec).toMatchObject({ completions: 100_000, parallelism: 10, suspend: true });
    expect(pod && restrictedPodViolations(pod)).toEqual([]);
  });

  it('names chunks as DNS subdomains, chunk 0 as the ConfigMap always was', () => {
    const longest = kubeJobName('a'.repeat(63), 999_999);
    expect(inputsChunkName(longest, 0)).toBe(configMapName(longest));
    expect(isDnsSubdomain(inputsChunkName(longest, 999))).toBe(true);
    expect(inputsChunkName('w-x-r1-0123abcd', 2)).toBe('w-x-r1-0123abcd-inputs-2');
  });

  it('names the entries too large for any chunk', () => {
    const command = launchRun({}, { items: ['small', 'x'.repeat(200), 'small'], inputs: { big: 'y'.repeat(200) } });
    const rendered = renderRun(command, withBudget(150));
    expect(keysOf(rendered)).toEqual([['inputs.json'], ['item-0'], ['item-1'], ['item-2']]);
    expect(inputsChunkViolations(rendered, withBudget(150)).map((v) => v.field)).toEqual(['spec.inputs', 'spec.items[1]']);
  });

  it('refuses projected volumes with sources other than ConfigMaps, Secrets and the downward API', () => {
    const pod = renderRun(launchRun({}, { items: ['a', 'b'] }), withBudget(60)).job.spec?.template.spec;
    const volume = pod?.volumes?.[0];
    expect(volume?.projected?.sources).toHaveLength(2);
    volume?.projected?.sources.push({ serviceAccountToken: { path: 'token' } });
    expect(pod && restrictedPodViolations(pod)).toEqual([
      { field: 'spec.template.spec.volumes[0].projected.sources[2].serviceAccountToken', description: 'serviceAccountToken sources are refused' },
    ]);
  });
});

describe('the item wrapper (what each index container runs)', () => {
  it('exports WHARF_ITEM from the item file and execs the command with its arguments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-item-'));
    const items = ['foo', 'bar', 'baz', 'qux', 'xyz'];
    const outputs = items.map((item, index) => {
      const file = join(dir, `item-${index}`);
      writeFileSync(file, item);
      // The same script, reading this index's file where the kubelet would mount it.
      const script = itemShellScript.replace('/var/run/wharf/item', file);
      const viaEnv = execFileSync('/bin/sh', ['-c', script, 'wharf-item', '/bin/sh', '-c', 'printf %s "$WHARF_ITEM"']).toString();
      const viaFile = execFileSync('/bin/sh', ['-c', script, 'wharf-item', 'rev', file]).toString().trim();
      return [viaEnv, viaFile];
    });
    expect(outputs).toEqual([
      ['foo', 'oof'],
      ['bar', 'rab'],
      ['baz', 'zab'],
      ['qux', 'xuq'],
      ['xyz', 'zyx'],
    ]);
  });
});
