import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { SecretRedactor } from './secret-redactor';

async function run(chunks: readonly Buffer[], secrets: readonly string[], replacement = '#'): Promise<{ out: string; n: number }> {
  const redactor = new SecretRedactor({ secrets, replacement });
  const parts: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    Readable.from(chunks).pipe(redactor).on('data', (c: Buffer) => parts.push(c)).on('end', resolve).on('error', reject);
  });
  return { out: Buffer.concat(parts).toString('utf8'), n: redactor.replacements };
}

/** The non-streaming reference: merge all (overlapping) occurrences, replace each group once. */
function reference(text: string, secrets: readonly string[], replacement = '#'): string {
  const buf = Buffer.from(text);
  const covered: [number, number][] = [];
  for (const s of secrets.filter((x) => x.length > 0)) {
    const needle = Buffer.from(s);
    for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) covered.push([at, at + needle.length]);
  }
  covered.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  for (let i = 0; i < covered.length; ) {
    const at = (k: number): [number, number] => covered[k] as [number, number];
    const start = at(i)[0];
    let end = at(i)[1];
    for (i++; i < covered.length && at(i)[0] < end; i++) end = Math.max(end, at(i)[1]);
    out += buf.subarray(pos, start).toString() + replacement;
    pos = end;
  }
  return out + buf.subarray(pos).toString();
}

function splitAt(text: string, cuts: number[]): Buffer[] {
  const buf = Buffer.from(text);
  const points = [0, ...cuts.filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length];
  return points.slice(1).map((end, i) => buf.subarray(points[i], end));
}

describe('SecretRedactor', () => {
  it('replaces a value inside one chunk', async () => {
    expect(await run([Buffer.from('token=hunter22 ok\n')], ['hunter22'])).toEqual({ out: 'token=# ok\n', n: 1 });
  });

  it('replaces a value straddling every possible chunk boundary', async () => {
    const text = 'before s3cr3t-value after s3cr3t-value\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect((await run(splitAt(text, [cut]), ['s3cr3t-value'])).out).toBe('before # after #\n');
    }
  });

  it('replaces a value split over many one-byte chunks', async () => {
    const text = 'xx-CANARY-42-yy';
    expect((await run(splitAt(text, Array.from({ length: text.length }, (_, i) => i)), ['CANARY-42'])).out).toBe('xx-#-yy');
  });

  it('merges overlapping values of different secrets so no fragment survives', async () => {
    expect((await run([Buffer.from('abcdXYZW!')], ['abcd', 'cdXYZW'])).out).toBe('#!');
    expect((await run(splitAt('abcdXYZW!', [5]), ['abcd', 'cdXYZW'])).out).toBe('#!');
  });

  it('holds back a longer value that a shorter, complete one overlaps near the end of the input so far', async () => {
    // 'ťou' is complete after the second chunk, 'žluťoučký' (which contains it) is not: nothing
    // from the start of the longer value may be emitted yet (an earlier version leaked 'žlu').
    const text = Buffer.from('zzžluťoučkýab');
    const chunks = [text.subarray(0, 1), text.subarray(1, 10), text.subarray(10)];
    expect(await run(chunks, ['žluťoučký', 'ťou'])).toEqual({ out: 'zz#ab', n: 1 });
  });

  it('handles multi-byte characters split across chunks', async () => {
    const text = 'pw=žluťoučký kůň!';
    const cut = Buffer.from('pw=žlu').length - 1; // inside a 2-byte character
    expect((await run(splitAt(text, [cut]), ['žluťoučký'])).out).toBe('pw=# kůň!');
  });

  it('passes everything through unchanged without secrets', async () => {
    const data = randomBytes(100_000);
    const parts: Buffer[] = [];
    const r = new SecretRedactor({ secrets: [] });
    await new Promise<void>((resolve) => Readable.from([data]).pipe(r).on('data', (c: Buffer) => parts.push(c)).on('end', resolve));
    expect(Buffer.concat(parts)).toEqual(data);
  });

  it('matches the reference on log-like texts with planted, overlapping and prefix-sharing values, random chunkings', async () => {
    let seed = 11;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pools = [
      ['SECRET-TOKEN-0f3a9c1d'],
      ['pass-1234', 'pass-12345678', '45678-tail'],
      ['abab', 'babab', 'ab\nab'],
      ['žluťoučký', 'kůň', 'ťou'],
      ['xyzzy', 'zzyx', 'yzzyxyzzy', 'q'.repeat(40)],
    ];
    for (let round = 0; round < 400; round++) {
      const secrets = pools[round % pools.length] as string[];
      const pieces: string[] = [];
      for (let p = 0, n = 5 + rand(40); p < n; p++) {
        const r = rand(10);
        if (r < 3) pieces.push(secrets[rand(secrets.length)] as string);
        else if (r < 4) pieces.push((secrets[rand(secrets.length)] as string).slice(0, 1 + rand(4)));
        else pieces.push(['INFO step ok\n', 'ab', 'x', 'zz', 'ka', '\n', 'q'.repeat(rand(50))][rand(7)] as string);
      }
      const text = pieces.join('');
      const length = Buffer.byteLength(text);
      // Cuts anywhere (also inside multi-byte characters), from none to one per byte.
      const cuts = rand(4) === 0 ? Array.from({ length }, (_, i) => i) : Array.from({ length: rand(12) }, () => rand(length + 1));
      const got = await run(splitAt(text, cuts), secrets);
      expect(got.out).toBe(reference(text, secrets));
      for (const s of secrets) expect(got.out.includes(s)).toBe(false);
    }
  });

  it('finds values across 64 KiB chunks, at the edges of the held-back tail', async () => {
    const secret = 'SECRET-TOKEN-0f3a9c1d';
    const size = 64 * 1024;
    for (const offset of [0, 1, secret.length - 2, secret.length - 1, secret.length, secret.length + 1]) {
      // The value starts `offset` bytes before the end of the first chunk.
      const text = 'a'.repeat(size - offset) + secret + 'b'.repeat(size) + secret;
      const { out, n } = await run(splitAt(text, [size, 2 * size]), [secret]);
      expect(out).toBe('a'.repeat(size - offset) + '#' + 'b'.repeat(size) + '#');
      expect(n).toBe(2);
    }
  });

  it('passes text without values through byte for byte, whatever the chunking', async () => {
    let seed = 3;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const data = Buffer.from(Array.from({ length: 20_000 }, () => 'SECRET-TOKEN-0f3a9c1 \n'[rand(22)]).join(''));
    const cuts = Array.from({ length: 200 }, () => rand(data.length));
    const { out, n } = await run(splitAt(data.toString(), cuts), ['SECRET-TOKEN-0f3a9c1d', 'TOKEN-XYZ']);
    expect(out).toBe(data.toString());
    expect(n).toBe(0);
  });

  it('matches the non-streaming reference on random texts and random chunkings', async () => {
    const alphabet = 'ab\n';
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: 40 + rand(60) }, () => alphabet[rand(alphabet.length)]).join('');
      const secrets = Array.from({ length: 1 + rand(3) }, () => Array.from({ length: 2 + rand(4) }, () => 'ab'[rand(2)]).join(''));
      const cuts = Array.from({ length: rand(8) }, () => rand(text.length));
      expect((await run(splitAt(text, cuts), secrets)).out).toBe(reference(text, secrets));
    }
  });
});
