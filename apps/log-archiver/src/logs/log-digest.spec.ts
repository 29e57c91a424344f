import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { countNewlines, digestOf, LogDigest } from './log-digest';

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

  it('counts newlines at any alignment and length, like a byte-by-byte count', () => {
    let seed = 5;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Bytes next to \n in value (0x09, 0x0b, 0x8a, 0x0a|0x80) must not count.
    const alphabet = [0x0a, 0x0a, 0x09, 0x0b, 0x8a, 0x00, 0xff, 0x41];
    const data = Buffer.from(Array.from({ length: 4096 }, () => alphabet[rand(alphabet.length)] as number));
    for (let round = 0; round < 500; round++) {
      const start = rand(64);
      const view = data.subarray(start, start + rand(data.length - start));
      let expected = 0;
      for (const byte of view) if (byte === 0x0a) expected++;
      expect(countNewlines(view)).toBe(expected);
    }
    expect(countNewlines(Buffer.alloc(0))).toBe(0);
    expect(countNewlines(Buffer.from('\n\n\n\n\n\n\n\n'))).toBe(8);
  });

  it('refuses a result before the end', () => {
    expect(() => new LogDigest().result()).toThrow(/before the stream ended/);
  });
});
