import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** What the manifest records about one archived log. */
export interface LogDigestResult {
  readonly bytes: number;
  /** Newline-terminated lines, plus one for a final line without a newline. */
  readonly lines: number;
  /** Hex SHA-256 of the bytes as stored (after redaction). */
  readonly sha256: string;
}

/** A pass-through that counts bytes and lines and hashes what flows through it. */
export class LogDigest extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private newlines = 0;
  private lastByte = -1;
  private digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.newlines += countNewlines(chunk);
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1] as number;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    callback();
  }

  /** Available once the stream has flushed (its readable side ended). */
  result(): LogDigestResult {
    if (this.digest === undefined) throw new Error('LogDigest.result() called before the stream ended');
    const partial = this.bytes > 0 && this.lastByte !== 0x0a ? 1 : 0;
    return { bytes: this.bytes, lines: this.newlines + partial, sha256: this.digest };
  }
}

/**
 * Number of `\n` bytes in `data`: four bytes at a time (SWAR on an aligned Int32Array view),
 * about twice as fast as an `indexOf` call per line on log-like text.
 */
export function countNewlines(data: Uint8Array): number {
  const length = data.length;
  const offset = data.byteOffset;
  let count = 0;
  let i = 0;
  for (; i < length && ((offset + i) & 3) !== 0; i++) if (data[i] === 0x0a) count++;
  const words = (length - i) >>> 2;
  if (words > 0) {
    const view = new Int32Array(data.buffer, offset + i, words);
    for (let k = 0; k < words; k++) {
      const x = (view[k] as number) ^ 0x0a0a0a0a; // a zero byte where the byte was \n
      // 0x80 in every byte of x that is zero (exact: no carries between bytes), then one bit each.
      const zero = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
      count += Math.imul((zero >>> 7) & 0x01010101, 0x01010101) >>> 24;
    }
    i += words * 4;
  }
  for (; i < length; i++) if (data[i] === 0x0a) count++;
  return count;
}

/** The digest of a whole buffer, as {@link LogDigest} would compute it (tests, verification). */
export function digestOf(data: Buffer): LogDigestResult {
  const newlines = countNewlines(data);
  const partial = data.length > 0 && data[data.length - 1] !== 0x0a ? 1 : 0;
  return { bytes: data.length, lines: newlines + partial, sha256: createHash('sha256').update(data).digest('hex') };
}
