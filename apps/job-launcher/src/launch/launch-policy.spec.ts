import { ExitCodeRule_Action, JobSpec, LaunchCommand } from '@wharf/contracts';
import { launchRun, seed000, testPolicy } from '../../test/launch-fixtures';
import { loadConfig } from '@wharf/platform';
import { jobLauncherConfigSchema } from '../config';
import { imageAllowed, normalizeImage, validateCancelRun, validateLaunchRun } from './launch-policy';

const fields = (violations: { field: string }[]) => violations.map((v) => v.field);

describe('normalizeImage', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['registry.example.com/jobs/rev:v1', 'registry.example.com/jobs/rev:v1'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (image, normalized) => {
    expect(normalizeImage(image)).toBe(normalized);
  });

  it.each(['', 'Busy Box', 'a//b', 'x@sha256:zz', 'evil.io/../x', 'UPPER/case'])('refuses %j', (image) => {
    expect(normalizeImage(image)).toBeUndefined();
  });

  it('matches patterns against the normalized reference', () => {
    expect(imageAllowed('busybox', ['docker.io/library/*'])).toBe(true);
    expect(imageAllowed('evil.io/library/busybox', ['docker.io/library/*'])).toBe(false);
    expect(imageAllowed('docker.io/attacker/busybox', ['docker.io/library/*'])).toBe(false);
    expect(imageAllowed('anything.io/x', ['*'])).toBe(true);
  });
});

describe('validateLaunchRun', () => {
  it("accepts seed 000's example", () => {
    expect(validateLaunchRun(seed000(), testPolicy)).toEqual([]);
  });

  it('refuses a foreign namespace and a disallowed image', () => {
    const v = validateLaunchRun(launchRun({}, { namespace: 'kube-system', image: 'evil.io/miner:latest' }), testPolicy);
    expect(v).toEqual([
      { field: 'spec.namespace', description: 'namespace is outside the launcher allowlist' },
      { field: 'spec.image', description: 'image is not allowed by the launcher image policy' },
    ]);
  });

  it('refuses bad ids and runs', () => {
    expect(fields(validateLaunchRun(launchRun({ jobId: 'Bad_Id', run: 0 }), testPolicy))).toEqual(['jobId', 'run']);
    expect(fields(validateLaunchRun(launchRun({ jobId: 'a'.repeat(64) }), testPolicy))).toEqual(['jobId']);
    expect(fields(validateLaunchRun(launchRun({ spec: undefined }), testPolicy))).toEqual(['spec']);
  });

  it('refuses reserved labels, annotations and env, and service accounts outside the policy', () => {
    const v = validateLaunchRun(
      launchRun(
        {},
        {
          labels: { 'app.kubernetes.io/managed-by': 'me', ok: 'yes' },
          annotations: { 'kubernetes.io/psa': 'x', 'wharf.dev/job-id': 'other', 'wharf.dev/sim-exit-code': '1' },
          env: { WHARF_ITEM: 'x', 'BAD-NAME': 'y', GOOD: 'z' },
          serviceAccount: 'cluster-admin',
        },
      ),
      testPolicy,
    );
    expect(fields(v)).toEqual([
      'spec.labels["app.kubernetes.io/managed-by"]',
      'spec.annotations["kubernetes.io/psa"]',
      'spec.annotations["wharf.dev/job-id"]',
      'spec.env["WHARF_ITEM"]',
      'spec.env["BAD-NAME"]',
      'spec.serviceAccount',
    ]);
  });

  it('refuses volume mounts over launcher and kubelet paths', () => {
    const v = validateLaunchRun(
      launchRun(
        {},
        {
          volumes: [
            { claimName: 'data', mountPath: '/var/run/wharf', readOnly: false },
            { claimName: 'data', mountPath: '/var/run/secrets/kubernetes.io', readOnly: false },
            { claimName: 'data', mountPath: '/', readOnly: false },
            { claimName: 'data', mountPath: '/data/../etc', readOnly: false },
            { claimName: 'Bad Name', mountPath: '/ok', readOnly: false },
            { claimName: 'data', mountPath: '/work', readOnly: true },
          ],
        },
      ),
      testPolicy,
    );
    expect(fields(v)).toEqual([
      'spec.volumes[0].mountPath',
      'spec.volumes[1].mountPath',
      'spec.volumes[2].mountPath',
      'spec.volumes[3].mountPath',
      'spec.volumes[4].claimName',
    ]);
  });

  it('caps inputs + items of all inputs ConfigMaps together: 100,000 items pass the default total, not the default maxItems', () => {
    const defaults = loadConfig(jobLauncherConfigSchema, { env: {}, argv: [] }).policy;
    expect(defaults).toMatchObject({ maxItems: 10_000, maxConfigBytes: 16_000_000 });
    const policy = { ...testPolicy, namespaces: ['default'], maxItems: 100_000, maxConfigBytes: defaults.maxConfigBytes };
    const fanOut = launchRun({}, { items: Array.from({ length: 100_000 }, (_, i) => String(i)) });
    expect(validateLaunchRun(fanOut, policy)).toEqual([]);
    expect(fields(validateLaunchRun(fanOut, { ...policy, maxItems: defaults.maxItems }))).toEqual(['spec.items']);
    // The former single-ConfigMap cap (900,000) still works as a total for whoever keeps it.
    expect(validateLaunchRun(fanOut, { ...policy, maxConfigBytes: 900_000 })).toEqual([
      { field: 'spec.items', description: 'inputs and items exceed 900000 bytes; pass a reference instead' },
    ]);
  });

  it('checks limits, retry rules and quantities', () => {
    const v = validateLaunchRun(
      launchRun(
        {},
        {
          items: Array.from({ length: 101 }, (_, i) => `i${i}`),
          parallelism: 51,
          activeDeadlineSeconds: -1,
          resources: { cpu: 'lots', memory: '1Gi', gpu: 0 },
          retry: {
            backoffLimitPerIndex: 9,
            maxAttempts: 0,
            backoffSeconds: 0,
            exitCodeRules: [
              { action: ExitCodeRule_Action.ACTION_UNSPECIFIED, exitCodes: [0] },
              { action: ExitCodeRule_Action.ACTION_FAIL_JOB, exitCodes: [] },
            ],
          },
        },
      ),
      testPolicy,
    );
    expect(fields(v)).toEqual([
      'spec.items',
      'spec.parallelism',
      'spec.activeDeadlineSeconds',
      'spec.resources.cpu',
      'spec.retry.backoffLimitPerIndex',
      'spec.retry.exitCodeRules[0].action',
      'spec.retry.exitCodeRules[0].exitCodes[0]',
      'spec.retry.exitCodeRules[1].exitCodes',
    ]);
  });

  it('never quotes a secret value', () => {
    const canary = 'canary-Zq9-secret-value';
    const v = validateLaunchRun(
      launchRun({}, { secrets: [{ env: 'WHARF_X', value: canary }, { env: 'Y', value: canary.repeat(1000) }] }),
      testPolicy,
    );
    expect(v.length).toBeGreaterThan(0);
    expect(JSON.stringify(v)).not.toContain(canary);
  });
});

describe('validateCancelRun', () => {
  it('needs a job id and a run', () => {
    expect(validateCancelRun({ jobId: 'a', run: 1, reason: '' })).toEqual([]);
    expect(fields(validateCancelRun({ jobId: '', run: 0, reason: 'x'.repeat(1025) }))).toEqual(['jobId', 'run', 'reason']);
  });
});

describe('examples/seed-000', () => {
  it('holds a valid LaunchCommand and the same spec in every file', () => {
    const dir = `${__dirname}/../../../../examples/seed-000`;
    const command = LaunchCommand.fromJSON(require(`${dir}/launch-command.json`));
    const job = JobSpec.fromJSON(require(`${dir}/job.json`));
    const submit = JobSpec.fromJSON(require(`${dir}/submit-job.json`).spec);
    expect(command.launch && validateLaunchRun(command.launch, testPolicy)).toEqual([]);
    expect(command.launch?.spec).toEqual(job);
    expect(submit).toEqual(job);
  });
});
