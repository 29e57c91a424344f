import { ArchiveFinalizer, ExitCodeRule_Action, KubeLabels } from '@wharf/contracts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRun, seed000 } from '../test/launch-fixtures';
import { configMapName, isDnsLabel, kubeJobName, secretName } from './launch-names';
import { defaultRenderOptions, itemShellScript, ownedBy, renderRun } from './job-renderer';
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
    const { job, configMap, secret } = renderRun(command);
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
    const { job, configMap, secret } = renderRun(launchRun({}, { command: ['true'] }));
    expect(configMap).toBeUndefined();
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
    const { job, secret, configMap } = renderRun(command);
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
    const { configMap } = renderRun(seed000());
    const owned = configMap && ownedBy(configMap, { name: 'w-x', uid: 'u-1' });
    expect(owned?.metadata.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name: 'w-x', uid: 'u-1', controller: true, blockOwnerDeletion: false },
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
