import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { digestOf, LogDigest } from './log-digest';

async function digest(chunks: string[]) {
  const d = new LogDigest();
  Readable.from(chunks.map((c) => Buffer.from(c))).pipe(d).resume();
  await new Promise((resolve) => d.on('end', resolve));
  return d.result();
}

describe('LogDigest', () => {
  it('counts bytes, lines (a final partial line too) and hashes', async () => {
    const text = 'one\ntwo\nthree';
    expect(await digest(['on', 'e\ntw', 'o\nthree'])).toEqual({
      bytes: text.length,
      lines: 3,
      sha256: createHash('sha256').update(text).digest('hex'),
    });
    expect((await digest(['a\n', 'b\n'])).lines).toBe(2);
    expect(await digest([])).toEqual({ bytes: 0, lines: 0, sha256: createHash('sha256').digest('hex') });
  });

  it('agrees with digestOf', async () => {
    const text = 'x\ny\n\nz';
    expect(await digest([text.slice(0, 3), text.slice(3)])).toEqual(digestOf(Buffer.from(text)));
  });

  it('refuses a result before the end', () => {
    expect(() => new LogDigest().result()).toThrow(/before the stream ended/);
  });
});
