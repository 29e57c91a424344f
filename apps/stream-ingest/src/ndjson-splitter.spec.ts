import { NdjsonSplitter } from './ndjson-splitter';

function feed(splitter: NdjsonSplitter, ...chunks: string[]): string[] {
  const lines: string[] = [];
  for (const chunk of chunks) splitter.push(Buffer.from(chunk), (line) => lines.push(line.toString()));
  return lines;
}

describe('NdjsonSplitter', () => {
  it('emits complete lines in order, across chunk boundaries', () => {
    const splitter = new NdjsonSplitter();
    expect(feed(splitter, '{"a":1}\n{"b"', ':2}\n{"c":3}\n')).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(splitter.pendingBytes).toBe(0);
  });

  it('holds a partial line until its newline arrives', () => {
    const splitter = new NdjsonSplitter();
    expect(feed(splitter, 'abc', 'def')).toEqual([]);
    expect(splitter.pendingBytes).toBe(6);
    expect(feed(splitter, 'g\n')).toEqual(['abcdefg']);
  });

  it('drops the partial line at a disconnect and never emits it', () => {
    const splitter = new NdjsonSplitter();
    expect(feed(splitter, 'one\ntwo\nthr')).toEqual(['one', 'two']);
    expect(splitter.discard()).toBe(3);
    // After the reconnect, the next stream starts clean: "thr" never reappears.
    expect(feed(splitter, 'four\n')).toEqual(['four']);
  });

  it('strips CRLF and skips blank lines', () => {
    const splitter = new NdjsonSplitter();
    expect(feed(splitter, 'a\r\n\r\n\nb\r', '\n')).toEqual(['a', 'b']);
  });

  it('skips a line longer than the limit without buffering it', () => {
    const splitter = new NdjsonSplitter(8);
    expect(feed(splitter, 'ok\n0123456789', 'abcdef', 'xyz\nfine\n')).toEqual(['ok', 'fine']);
    expect(splitter.oversized).toBe(1);
    expect(splitter.pendingBytes).toBe(0);
  });

  it('copies held bytes so a reused chunk buffer cannot corrupt them', () => {
    const splitter = new NdjsonSplitter();
    const chunk = Buffer.from('hello');
    const lines: string[] = [];
    splitter.push(chunk, (l) => lines.push(l.toString()));
    chunk.fill(0x78);
    splitter.push(Buffer.from('\n'), (l) => lines.push(l.toString()));
    expect(lines).toEqual(['hello']);
  });
});
