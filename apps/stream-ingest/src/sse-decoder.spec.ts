import { SseDecoder, type SseEvent } from './sse-decoder';

function feed(decoder: SseDecoder, ...chunks: (string | Buffer)[]): SseEvent[] {
  const events: SseEvent[] = [];
  for (const chunk of chunks) decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, (e) => events.push(e));
  return events;
}

describe('SseDecoder', () => {
  it('emits events with ids, types and multi-line data', () => {
    const decoder = new SseDecoder();
    const events = feed(decoder, 'id: 1\ndata: {"a":1}\n\n', 'event: tweet\nid: 2\ndata: line1\ndata: line2\n\n');
    expect(events).toEqual([
      { id: '1', data: '{"a":1}' },
      { id: '2', event: 'tweet', data: 'line1\nline2' },
    ]);
  });

  it('ignores comments and records the retry interval', () => {
    const decoder = new SseDecoder();
    expect(feed(decoder, ': keep-alive\nretry: 2500\n\n', 'data: x\n\n')).toEqual([{ data: 'x' }]);
    expect(decoder.retryMs).toBe(2500);
  });

  it('emits nothing for an event cut by a disconnect', () => {
    const decoder = new SseDecoder();
    expect(feed(decoder, 'id: 1\ndata: one\n\nid: 2\ndata: tw')).toEqual([{ id: '1', data: 'one' }]);
    decoder.discard();
    expect(feed(decoder, 'id: 3\ndata: three\n\n')).toEqual([{ id: '3', data: 'three' }]);
  });

  it('keeps a UTF-8 character split across chunks', () => {
    const decoder = new SseDecoder();
    const bytes = Buffer.from('data: café\n\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside "é"
    expect(feed(decoder, bytes.subarray(0, cut), bytes.subarray(cut))).toEqual([{ data: 'café' }]);
  });
});
