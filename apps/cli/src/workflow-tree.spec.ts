import { TaskState, Workflow, WorkflowState } from '@wharf/contracts';
import { renderWorkflowTree } from './workflow-tree';

describe('renderWorkflowTree', () => {
  it('nests tasks under their first dependency, names the others, lists finally tasks last', () => {
    const at = new Date('2026-11-21T10:00:00Z');
    const workflow = Workflow.fromPartial({
      workflowId: 'wf-1',
      state: WorkflowState.WORKFLOW_STATE_RUNNING,
      spec: {
        tasks: [
          { name: 'fetch' },
          { name: 'split', dependsOn: ['fetch'], withItems: ['a', 'b', 'c'] },
          { name: 'lint', dependsOn: ['fetch'] },
          { name: 'report', dependsOn: ['split', 'lint'] },
        ],
        finally: [{ name: 'notify' }],
      },
      tasks: [
        {
          name: 'fetch',
          state: TaskState.TASK_STATE_SUCCEEDED,
          jobId: 'wf-1-fetch',
          startedAt: at,
          finishedAt: new Date('2026-11-21T10:00:42Z'),
        },
        { name: 'split', state: TaskState.TASK_STATE_RUNNING, jobId: 'wf-1-split', startedAt: at },
      ],
    });
    expect(renderWorkflowTree(workflow, new Date('2026-11-21T10:01:30Z'))).toEqual([
      'wf-1  RUNNING  1/5 tasks done',
      '└─ ✓ fetch   SUCCEEDED  job wf-1-fetch  42s',
      '   ├─ ▶ split  ×3  RUNNING    job wf-1-split  1m30s',
      '   │  └─ · report  WAITING    (also after lint)',
      '   └─ · lint    WAITING',
      'finally:',
      '   · notify  WAITING',
    ]);
  });
});
