import { isValidJobId } from '../domain/job-identity';
import { renderTaskJob, resolveItems } from './task-renderer';
import { deriveWorkflowId, taskJobId, workflowSpecHash } from './workflow-identity';
import { specFrom } from './workflow-test-builders';
import type { TemplateScope } from './workflow-template';

const spec = specFrom(`name: ci
namespace: team-a
queue: batch
parameters: { repo: "https://example.com/r.git", repos: '["a","b"]' }
workspaces: [{ name: src, claimName: ci-src }]
tasks:
  - name: list
    template: { image: busybox }
  - name: build-push
    dependsOn: [list]
    retries: 3
    withParam: "{{ tasks.list.output }}"
    workspaces: [{ name: src, mountPath: /workspace }]
    template:
      image: "kaniko:{{ params.repo }}"
      command: [sh, -c, "build {{ item }}"]
      labels: { team: a }
      retry: { maxAttempts: 2 }
      secrets: [{ env: TOKEN, secretRef: { name: gh, key: token } }]
      parallelism: 5
  - name: static
    withItems: ["{{ params.repo }}", two]
    template: { image: i, namespace: other }
  - name: from-param
    withParam: "{{ params.repos }}"
    template: { image: i }
`);

const taskAt = (i: number) => {
  const task = spec.tasks[i];
  if (!task) throw new Error(`no task ${i}`);
  return task;
};

const scope = (output: unknown): TemplateScope => ({
  params: spec.parameters,
  tasks: { list: { status: 'Succeeded', output, fanOut: false } },
  workflow: { id: 'ci-1', name: 'ci', namespace: 'team-a', status: 'Running' },
});

describe('renderTaskJob', () => {
  it('renders a withParam fan-out as ONE indexed job with retries, workspaces and labels', () => {
    const task = taskAt(1);
    const items = resolveItems(task, scope(['r1', { n: 2 }, 'r3']));
    expect(items).toEqual({ items: ['r1', '{"n":2}', 'r3'] });
    const rendered = renderTaskJob('ci-1', spec, task, scope(['r1']), 'items' in items ? items.items : []);
    expect(rendered.jobId).toBe(taskJobId('ci-1', 'build-push'));
    expect(rendered.spec).toMatchObject({
      name: 'ci-build-push',
      namespace: 'team-a',
      queue: 'batch',
      image: 'kaniko:https://example.com/r.git',
      command: ['sh', '-c', 'build ${WHARF_ITEM}'],
      items: ['r1', '{"n":2}', 'r3'],
      parallelism: 5,
      retry: { backoffLimitPerIndex: 3, maxAttempts: 2 },
      volumes: [{ claimName: 'ci-src', mountPath: '/workspace', readOnly: false }],
      secrets: [{ env: 'TOKEN', secretRef: { name: 'gh', key: 'token' } }],
      labels: { team: 'a' },
    });
  });

  it('resolves withItems templates and withParam from a parameter; refuses a non-list', () => {
    expect(resolveItems(taskAt(2), scope([]))).toEqual({ items: ['https://example.com/r.git', 'two'] });
    expect(resolveItems(taskAt(3), scope([]))).toEqual({ items: ['a', 'b'] });
    expect(resolveItems(taskAt(1), scope({ not: 'a list' }))).toEqual({ error: expect.stringMatching(/not resolve to a JSON list/) });
    expect(resolveItems(taskAt(1), scope(undefined))).toEqual({ error: expect.stringMatching(/JSON list/) });
  });
});

describe('identities', () => {
  it('derives DNS-label job ids per (workflow, task), deterministic and ≤ 63', () => {
    const long = 'w'.repeat(63);
    for (const [wf, task] of [
      ['ci-1', 'build-push'],
      [long, 't'.repeat(40)],
      ['a', 'b'],
    ] as const) {
      const id = taskJobId(wf, task);
      expect(isValidJobId(id)).toBe(true);
      expect(taskJobId(wf, task)).toBe(id);
    }
    expect(taskJobId(long, 'a')).not.toBe(taskJobId(long, 'b'));
  });

  it('derives the workflow id from the idempotency key or name + spec hash', () => {
    expect(deriveWorkflowId(spec, 'my-key')).toBe('my-key');
    expect(deriveWorkflowId(spec)).toBe(`ci-${workflowSpecHash(spec).slice(0, 16)}`);
  });
});
