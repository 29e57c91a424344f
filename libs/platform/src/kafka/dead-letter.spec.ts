import { DecodeError, RecordHeaders } from '@wharf/contracts';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../errors';
import { deadLetterRecord, isPoison } from './dead-letter';
import type { KafkaRecord } from './kafka-record';

describe('isPoison', () => {
  it.each([
    ['a DecodeError', new DecodeError('Command: invalid JSON'), true],
    ['an InvalidArgumentError', new InvalidArgumentError('bad spec'), true],
    ['a non-retriable Wharf error', new NotFoundError('no such queue'), true],
    ['a programming error', new TypeError('x is undefined'), true],
    [
      'a client error marked non-retriable',
      Object.assign(new Error('denied'), { retriable: false }),
      true,
    ],
    ['an UnavailableError', new UnavailableError('kubernetes unreachable'), false],
    [
      'a client error marked retriable',
      Object.assign(new Error('leader moved'), { retriable: true }),
      false,
    ],
    ['a foreign network error', new Error('socket hang up'), false],
  ])('%s → %s', (_label, error, poison) => {
    expect(isPoison(error)).toBe(poison);
  });
});

describe('deadLetterRecord', () => {
  const record: KafkaRecord = {
    topic: 'wharf.commands',
    partition: 2,
    offset: '41',
    key: Buffer.from('cmd-1'),
    value: Buffer.from('{not json'),
    headers: { [RecordHeaders.contentType]: Buffer.from('application/json'), trace: ['a', 'b'] },
    timestamp: '0',
  };

  it('keeps key, value and headers, and adds the error and the origin', () => {
    const dlq = deadLetterRecord(record, new DecodeError('Command: invalid JSON'));
    expect(dlq.key).toEqual(record.key);
    expect(dlq.value).toEqual(record.value);
    expect(dlq.headers).toEqual({
      [RecordHeaders.contentType]: Buffer.from('application/json'),
      trace: ['a', 'b'],
      [RecordHeaders.error]: 'Command: invalid JSON',
      [RecordHeaders.errorType]: 'DecodeError',
      [RecordHeaders.originalTopic]: 'wharf.commands',
      [RecordHeaders.originalPartition]: '2',
      [RecordHeaders.originalOffset]: '41',
    });
  });

  it('caps a huge error message', () => {
    const dlq = deadLetterRecord(record, new Error('x'.repeat(100_000)));
    expect(Buffer.byteLength(dlq.headers?.[RecordHeaders.error] as string)).toBeLessThanOrEqual(
      4096,
    );
  });
});
