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
    for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) this.newlines++;
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

/** The digest of a whole buffer, as {@link LogDigest} would compute it (tests, verification). */
export function digestOf(data: Buffer): LogDigestResult {
  let newlines = 0;
  for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) newlines++;
  const partial = data.length > 0 && data[data.length - 1] !== 0x0a ? 1 : 0;
  return { bytes: data.length, lines: newlines + partial, sha256: createHash('sha256').update(data).digest('hex') };
}
