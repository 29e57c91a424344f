import { LaunchCommand } from '@wharf/contracts';
import { seed000 } from '../../test/launch-fixtures';
import { jobSpecShape, launchCommandShape, unknownJsonFields } from './command-schema';

describe('unknownJsonFields', () => {
  it('accepts every field of the contract, in both JSON spellings', () => {
    const json = LaunchCommand.toJSON({ launch: seed000(), cancel: undefined }) as Record<string, unknown>;
    expect(unknownJsonFields(json)).toEqual([]);
    expect(
      unknownJsonFields({ launch: { job_id: 'x', run: 1, spec: { active_deadline_seconds: 3, service_account: 'a' } } }),
    ).toEqual([]);
    expect(unknownJsonFields({ cancel: { jobId: 'x', run: 1, reason: 'r' } })).toEqual([]);
  });

  it('names hostile pod-spec fields with their paths', () => {
    const violations = unknownJsonFields({
      launch: {
        jobId: 'x',
        run: 1,
        spec: {
          image: 'busybox',
          hostNetwork: true,
          nodeName: 'node-1',
          securityContext: { privileged: true },
          podSpec: { volumes: [{ name: 'root', hostPath: { path: '/' } }] },
        },
      },
    });
    expect(violations).toEqual([
      { field: 'launch.spec.hostNetwork', description: 'host namespaces are refused' },
      { field: 'launch.spec.nodeName', description: 'nodeName is refused: pods are placed by the scheduler' },
      {
        field: 'launch.spec.securityContext',
        description: 'the security context is set by the launcher (restricted profile), not by commands',
      },
      { field: 'launch.spec.securityContext.privileged', description: 'privileged containers are refused' },
      { field: 'launch.spec.podSpec', description: 'raw pod specs are refused; only the JobSpec contract is accepted' },
      { field: 'launch.spec.podSpec.volumes[0].hostPath', description: 'hostPath volumes are refused' },
    ]);
  });

  it('refuses wrong JSON types', () => {
    expect(unknownJsonFields({ launch: { spec: { items: 'x', env: [], volumes: [{ hostPath: {} }] } } })).toEqual([
      { field: 'launch.spec.items', description: 'expected a list' },
      { field: 'launch.spec.env', description: 'expected an object of strings' },
      { field: 'launch.spec.volumes[0].hostPath', description: 'hostPath volumes are refused' },
    ]);
    expect(unknownJsonFields([])).toHaveLength(1);
  });

  it('lists every field the generated codec knows (drift check)', () => {
    const full = LaunchCommand.toJSON({
      launch: {
        ...seed000(),
        spec: {
          ...(seed000().spec as NonNullable<ReturnType<typeof seed000>['spec']>),
          queue: 'q',
          priority: 1,
          labels: { a: 'b' },
          args: ['a'],
          env: { A: 'b' },
          inputs: { a: 1 },
          secrets: [{ env: 'S', value: 'v', secretRef: { name: 'n', key: 'k' } }],
          resources: { cpu: '1', memory: '1Gi', gpu: 1 },
          activeDeadlineSeconds: 5,
          retry: { backoffLimitPerIndex: 1, exitCodeRules: [{ action: 1, exitCodes: [3] }], maxAttempts: 2, backoffSeconds: 3 },
          volumes: [{ claimName: 'c', mountPath: '/m', readOnly: true }],
          serviceAccount: 'sa',
          annotations: { a: 'b' },
        },
        specHash: 'h',
        admittedAt: new Date(0),
        workflowId: 'w',
        taskName: 't',
      },
      cancel: { jobId: 'x', run: 1, reason: 'r' },
    }) as { launch: Record<string, unknown> & { spec: Record<string, unknown> } };
    expect(Object.keys(full.launch.spec).sort()).toEqual(Object.keys(jobSpecShape.fields).sort());
    expect(unknownJsonFields(full)).toEqual([]);
    expect(Object.keys(launchCommandShape.fields).sort()).toEqual(['cancel', 'launch']);
  });
});
