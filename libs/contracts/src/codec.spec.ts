import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Command, JobEvent, JobState } from './index';
import { contentTypeOf, decodeMessage, DecodeError, encodeMessage, encodeProtobuf } from './codec';
import { ContentTypes } from './topics';

const command: Command = {
  commandId: 'cmd-1',
  token: 'tok',
  submitJob: {
    idempotencyKey: 'reverse-words',
    spec: {
      name: 'reverse',
      namespace: 'team-a',
      queue: 'batch',
      priority: 5,
      labels: { owner: 'ana' },
      image: 'busybox:1.36',
      command: ['sh', '-c'],
      args: ['echo $WHARF_ITEM | rev'],
      env: { MODE: 'fast' },
      inputs: { threshold: 0.5, tags: ['a', 'b'], nested: { ok: true } },
      items: ['foo', 'bar', 'baz', 'qux', 'xyz'],
      secrets: [{ env: 'API_KEY', value: 'canary' }, { env: 'DB', secretRef: { name: 'db', key: 'url' } }],
      resources: { cpu: '500m', memory: '256Mi', gpu: 0 },
      parallelism: 3,
      activeDeadlineSeconds: 600,
      retry: { backoffLimitPerIndex: 1, exitCodeRules: [{ action: 2, exitCodes: [42] }], maxAttempts: 3, backoffSeconds: 10 },
      volumes: [],
      serviceAccount: '',
      annotations: { 'wharf.dev/sim-exit-code': '0' },
    },
  },
};

describe('record codec', () => {
  it.each([ContentTypes.protobuf, ContentTypes.json])('round-trips a command through %s', (contentType) => {
    const bytes = encodeMessage(Command, command, contentType);
    expect(decodeMessage(Command, 'wharf.v1.Command', bytes, contentType)).toEqual(command);
  });

  it('gives the same message from JSON and from binary', () => {
    const fromJson = decodeMessage(Command, 'Command', encodeMessage(Command, command, ContentTypes.json), ContentTypes.json);
    const fromBinary = decodeMessage(Command, 'Command', encodeMessage(Command, command), ContentTypes.protobuf);
    expect(fromJson).toEqual(fromBinary);
  });

  it('accepts hand-written proto3 JSON as kafka-console-producer users write it', () => {
    const text = `{"command_id":"c9","token":"t","submit_job":{"spec":{"name":"x","image":"busybox","items":["a"],"parallelism":2,"active_deadline_seconds":"60"}}}`;
    const decoded = decodeMessage(Command, 'Command', Buffer.from(text), ContentTypes.json);
    expect(decoded.commandId).toBe('c9');
    expect(decoded.submitJob?.spec?.parallelism).toBe(2);
    expect(decoded.submitJob?.spec?.activeDeadlineSeconds).toBe(60);
  });

  it('writes enums as their names in JSON and reads names or numbers back', () => {
    const event = JobEvent.fromPartial({ jobId: 'j', sequence: 3, state: JobState.JOB_STATE_QUEUED });
    const json = JSON.parse(encodeMessage(JobEvent, event, ContentTypes.json).toString());
    expect(json).toMatchObject({ jobId: 'j', sequence: 3, state: 'JOB_STATE_QUEUED' });
    const byNumber = decodeMessage(JobEvent, 'JobEvent', Buffer.from('{"state":3}'), ContentTypes.json);
    expect(byNumber.state).toBe(JobState.JOB_STATE_RUNNING);
  });

  it('skips unknown fields in both encodings', () => {
    const json = Buffer.from('{"commandId":"c1","fromTheFuture":{"x":1}}');
    expect(decodeMessage(Command, 'Command', json, ContentTypes.json).commandId).toBe('c1');
    const writer = new BinaryWriter();
    Command.encode({ commandId: 'c2', token: '' }, writer);
    writer.uint32((99 << 3) | 2).string('unknown field 99');
    expect(decodeMessage(Command, 'Command', writer.finish(), ContentTypes.protobuf).commandId).toBe('c2');
  });

  it('encodes each message into bytes of its own, also after an encode that failed half-way', () => {
    const expected = Buffer.from(Command.encode(command).finish());
    const first = encodeProtobuf(Command, command);
    const broken = { ...command, submitJob: { ...command.submitJob, spec: { ...command.submitJob?.spec, parallelism: 1.5 } } } as Command;
    expect(() => encodeMessage(Command, broken)).toThrow(/int32/);
    const other = encodeProtobuf(JobEvent, JobEvent.fromPartial({ jobId: 'j', sequence: 1 }));
    expect(Buffer.from(encodeProtobuf(Command, command))).toEqual(expected);
    expect(Buffer.from(first)).toEqual(expected);
    expect(JobEvent.decode(other).jobId).toBe('j');
  });

  it.each([
    ['not JSON', Buffer.from('{"commandId": '), ContentTypes.json, /Command: invalid JSON/],
    ['a JSON array', Buffer.from('[1,2]'), ContentTypes.json, /expected a JSON object, got an array/],
    ['JSON null', Buffer.from('null'), ContentTypes.json, /got null/],
    ['truncated protobuf', Buffer.from([0x0a, 0x10, 0x61]), ContentTypes.protobuf, /Command: invalid protobuf/],
  ])('rejects %s with a DecodeError naming the type', (_name, bytes, contentType, message) => {
    expect(() => decodeMessage(Command, 'Command', bytes, contentType)).toThrow(DecodeError);
    expect(() => decodeMessage(Command, 'Command', bytes, contentType)).toThrow(message);
  });
});

describe('contentTypeOf', () => {
  it('trusts the content-type header', () => {
    expect(contentTypeOf({ 'content-type': Buffer.from('application/json; charset=utf-8') }, Buffer.from([0x0a]))).toBe(
      ContentTypes.json,
    );
    expect(contentTypeOf({ 'content-type': 'application/x-protobuf' }, Buffer.from('{'))).toBe(ContentTypes.protobuf);
  });

  it('sniffs JSON objects when there is no header, and defaults to protobuf', () => {
    expect(contentTypeOf(undefined, Buffer.from('  \n{"a":1}'))).toBe(ContentTypes.json);
    expect(contentTypeOf({}, encodeMessage(Command, command))).toBe(ContentTypes.protobuf);
    expect(contentTypeOf({}, Buffer.alloc(0))).toBe(ContentTypes.protobuf);
  });
});
