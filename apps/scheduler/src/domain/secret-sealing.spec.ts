import { TaskSpec, WorkflowSpec } from '@wharf/contracts';
import { SecretSealer } from '@wharf/platform';
import { sealJobSpec, sealWorkflowSpec } from './secret-sealing';
import { aSpec } from './test-builders';

const sealer = SecretSealer.fromKey(Buffer.alloc(32, 6));

describe('secret sealing', () => {
  it('seals inline values of a job spec, deterministically, and leaves references alone', () => {
    const spec = aSpec({ secrets: [{ env: 'A', value: 'plain-a' }, { env: 'B', secretRef: { name: 's', key: 'k' } }] });
    const sealed = sealJobSpec(spec, sealer);
    expect(sealed.secrets[0]?.value).not.toContain('plain-a');
    expect(sealer.open('A', sealed.secrets[0]?.value ?? '')).toBe('plain-a');
    expect(sealed.secrets[1]).toEqual(spec.secrets[1]);
    expect(sealJobSpec(spec, sealer)).toEqual(sealed);
    expect(sealJobSpec(sealed, sealer)).toEqual(sealed);
    expect(sealJobSpec(spec, undefined)).toBe(spec);
  });

  it('seals literal values of workflow templates and keeps templated ones for their tasks', () => {
    const task = (name: string, value: string) =>
      TaskSpec.fromPartial({ name, template: aSpec({ secrets: [{ env: 'T', value }] }) });
    const spec = WorkflowSpec.fromPartial({
      name: 'wf',
      tasks: [task('literal', 'lit-value'), task('templated', '{{ params.token }}')],
      finally: [task('cleanup', 'fin-value')],
    });
    const sealed = sealWorkflowSpec(spec, sealer);
    const value = (t: TaskSpec | undefined) => t?.template?.secrets[0]?.value ?? '';
    expect(sealer.open('T', value(sealed.tasks[0]))).toBe('lit-value');
    expect(value(sealed.tasks[0])).not.toContain('lit-value');
    expect(value(sealed.tasks[1])).toBe('{{ params.token }}');
    expect(sealer.open('T', value(sealed.finally[0]))).toBe('fin-value');
    expect(sealWorkflowSpec(spec, undefined)).toBe(spec);
  });
});
