import { createHash, randomBytes } from 'node:crypto';
import { MultipartEtag, normalizeEtag } from './multipart-etag';

const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest();

function expected(data: Buffer, partSize: number): string {
  if (data.length <= partSize) return md5(data).toString('hex');
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += partSize) parts.push(md5(data.subarray(at, at + partSize)));
  return `${md5(Buffer.concat(parts)).toString('hex')}-${parts.length}`;
}

describe('MultipartEtag', () => {
  it.each([0, 1, 99, 100, 101, 200, 250, 1000])('matches S3 for %i bytes with 100-byte parts, any chunking', (size) => {
    const data = randomBytes(size);
    for (const chunk of [1, 7, 100, 333, 5000]) {
      const etag = new MultipartEtag(100);
      for (let at = 0; at < size; at += chunk) etag.update(data.subarray(at, at + chunk));
      expect(etag.digest()).toBe(expected(data, 100));
    }
  });

  it('normalizes quoted and weak ETags', () => {
    expect(normalizeEtag('"ABC-2"')).toBe('abc-2');
    expect(normalizeEtag('W/"abc"')).toBe('abc');
    expect(normalizeEtag(undefined)).toBeUndefined();
  });
});
