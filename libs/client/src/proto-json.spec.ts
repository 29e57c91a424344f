import { JobEvent, JobSpec } from '@wharf/contracts';
import { messageFromJson, messageToJson } from './proto-json';

describe('proto3 JSON', () => {
  it('reads snake_case and camelCase and writes canonical camelCase (64-bit as strings)', () => {
    const spec = messageFromJson(JobSpec, 'wharf.v1.JobSpec', {
      name: 'rev',
      image: 'busybox:1.36',
      items: ['foo', 'bar'],
      active_deadline_seconds: 60,
      parallelism: 3,
    });
    expect(spec).toMatchObject({ name: 'rev', items: ['foo', 'bar'], activeDeadlineSeconds: 60 });
    expect(messageToJson(JobSpec, 'wharf.v1.JobSpec', spec)).toEqual({
      name: 'rev',
      image: 'busybox:1.36',
      items: ['foo', 'bar'],
      activeDeadlineSeconds: '60',
      parallelism: 3,
    });
  });

  it('names the field of an unknown key or a wrong type', () => {
    expect(() => messageFromJson(JobSpec, 'wharf.v1.JobSpec', { imag: 'x' })).toThrow(/imag/);
    expect(() => messageFromJson(JobSpec, 'wharf.v1.JobSpec', { parallelism: 'three' })).toThrow(
      /parallelism/,
    );
  });

  it('emits defaults only when asked', () => {
    const event = JobEvent.fromPartial({ jobId: 'j', sequence: 1 });
    const plain = messageToJson(JobEvent, 'wharf.v1.JobEvent', event) as Record<string, unknown>;
    const full = messageToJson(JobEvent, 'wharf.v1.JobEvent', event, {
      emitDefaults: true,
    }) as Record<string, unknown>;
    expect(plain).not.toHaveProperty('run');
    expect(full).toHaveProperty('run', 0);
    expect(full).toHaveProperty('jobId', 'j');
  });

  it('refuses a type the descriptor set does not have', () => {
    expect(() => messageToJson(JobSpec, 'wharf.v1.NoSuchThing', JobSpec.fromPartial({}))).toThrow(
      /unknown message type/,
    );
  });
});
