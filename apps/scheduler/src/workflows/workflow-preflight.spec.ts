import { FailedPreconditionError } from '@wharf/platform';
import { planPreflight, preflightError, pvcLookup, type ResourceLookup, type ResourceRequirement } from './workflow-preflight';
import { specFrom } from './workflow-test-builders';

const spec = specFrom(`name: ci
namespace: team-a
parameters: { secret: github-secret }
workspaces: [{ name: src, claimName: ci-src }]
tasks:
  - name: build-push
    workspaces: [{ name: src, mountPath: /workspace }]
    template:
      image: kaniko
      serviceAccount: builder
      secrets: [{ env: TOKEN, secretRef: { name: "{{ params.secret }}", key: token } }, { env: INLINE, value: s3cr3t }]
  - name: update-manifests
    dependsOn: [build-push]
    workspaces: [{ name: src, mountPath: /workspace }]
    withParam: "{{ tasks.build-push.output }}"
    template:
      image: git
      args: ["{{ tasks.build-push.output }}"]
      secrets: [{ env: SSH, secretRef: { name: "{{ params.secret }}", key: id_rsa } }]
      volumes: [{ claimName: cache, mountPath: /cache }]
  - name: elsewhere
    template: { image: i, namespace: other }
`);

describe('planPreflight', () => {
  it('lists every cluster object the workflow names, merged, with where it is named', () => {
    const plan = planPreflight('ci-1', spec);
    const brief = plan.resources.map((r) => `${r.kind} ${r.namespace}/${r.name} [${r.keys.join(',')}] ← ${r.usedBy.join(' + ')}`);
    expect(brief).toEqual([
      'Namespace /team-a [] ← namespace',
      'PersistentVolumeClaim team-a/ci-src [] ← workspaces[0].claimName + tasks[0].workspaces[0] + tasks[1].workspaces[0]',
      'Secret team-a/github-secret [id_rsa,token] ← tasks[0].template.secrets[0].secretRef + tasks[1].template.secrets[0].secretRef',
      'ServiceAccount team-a/builder [] ← tasks[0].template.serviceAccount',
      'PersistentVolumeClaim team-a/cache [] ← tasks[1].template.volumes[0].claimName',
      'Namespace /other [] ← tasks[2].template.namespace',
    ]);
    expect(plan.jobs.map((j) => j.task)).toEqual(['build-push', 'update-manifests', 'elsewhere']);
    expect(plan.jobs[1]?.spec.items).toEqual(['wharf-dry-run']);
    expect(plan.jobs[1]?.spec.args).toEqual(['wharf-dry-run']);
  });

  it('turns lookups into one FAILED_PRECONDITION naming each missing thing', () => {
    const plan = planPreflight('ci-1', spec);
    const lookups = new Map<ResourceRequirement, ResourceLookup>();
    for (const r of plan.resources) lookups.set(r, { status: 'found' });
    const find = (name: string) => plan.resources.find((r) => r.name === name) as ResourceRequirement;
    expect(preflightError(plan, lookups)).toBeUndefined();
    lookups.set(find('github-secret'), { status: 'missing' });
    lookups.set(find('ci-src'), { status: 'missing' });
    lookups.set(find('cache'), pvcLookup('Lost'));
    lookups.delete(find('builder'));
    const error = preflightError(plan, lookups, [{ task: 'elsewhere', ok: false, message: 'namespaces "other" not found' }]);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error?.violations.map((v) => v.description)).toEqual([
      'PersistentVolumeClaim "team-a/ci-src" not found',
      'Secret "team-a/github-secret" not found',
      'ServiceAccount "team-a/builder" not found',
      'PersistentVolumeClaim "team-a/cache" is not usable: its volume is lost',
      'server-side dry-run refused its job: namespaces "other" not found',
    ]);
    expect(error?.message).not.toContain('s3cr3t');
  });

  it('reports missing Secret keys', () => {
    const plan = planPreflight('ci-1', spec);
    const lookups = new Map<ResourceRequirement, ResourceLookup>(plan.resources.map((r) => [r, { status: 'found' }]));
    lookups.set(plan.resources.find((r) => r.kind === 'Secret') as ResourceRequirement, { status: 'found', keys: ['token'] });
    expect(preflightError(plan, lookups)?.violations).toEqual([
      {
        field: 'tasks[0].template.secrets[0].secretRef, tasks[1].template.secrets[0].secretRef',
        description: 'Secret "team-a/github-secret" has no key "id_rsa"',
      },
    ]);
  });
});
