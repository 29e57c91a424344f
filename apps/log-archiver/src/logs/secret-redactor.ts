import { Transform, type TransformCallback } from 'node:stream';

export interface SecretRedactorOptions {
  /** The secret values to replace (UTF-8). Empty values are ignored. */
  readonly secrets: readonly string[];
  /** @default '[redacted]' */
  readonly replacement?: string;
}

/**
 * Replaces every occurrence of the job's secret values in a byte stream, also when a value
 * straddles chunk boundaries: the last `longest - 1` bytes of each chunk are held back until
 * the next chunk shows whether a value continues there. Overlapping occurrences of different
 * values are merged and replaced once, so no fragment of any value survives. Works on bytes,
 * so multi-byte characters split across chunks are handled like any other byte.
 *
 * Memory: one chunk plus `longest - 1` bytes.
 */
export class SecretRedactor extends Transform {
  /** How many replacements were made (for the manifest; never the values). */
  replacements = 0;
  private readonly needles: Buffer[];
  private readonly hold: number;
  private readonly replacement: Buffer;
  private carry: Buffer = Buffer.alloc(0);

  constructor(options: SecretRedactorOptions) {
    super();
    this.needles = uniqueNonEmpty(options.secrets).map((s) => Buffer.from(s, 'utf8'));
    this.hold = Math.max(0, ...this.needles.map((n) => n.length - 1));
    this.replacement = Buffer.from(options.replacement ?? '[redacted]', 'utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.needles.length === 0) {
      callback(null, chunk);
      return;
    }
    const buffer = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    // Matches starting before `limit` are complete in `buffer`; later ones may continue.
    const limit = Math.max(0, buffer.length - this.hold);
    for (const part of this.redact(buffer, limit, false)) this.push(part);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.needles.length > 0) for (const part of this.redact(this.carry, this.carry.length, true)) this.push(part);
    callback();
  }

  /**
   * Emits `buffer` up to a cut point with every settled occurrence replaced, keeping the rest
   * (which may still be, or extend, an occurrence) in `carry`.
   *
   * An occurrence not yet complete in `buffer` starts at or after `limit`; overlapping
   * occurrences are merged into one group, so a group is settled once it ends at or before
   * `limit` (nothing incomplete can overlap it). Unsettled groups stay in `carry`, bounded by
   * MAX_CARRY against pathological self-overlapping chains ("aaaa…" for a secret "aa").
   */
  private redact(buffer: Buffer, limit: number, final: boolean): Buffer[] {
    const found: [number, number][] = [];
    for (const needle of this.needles) {
      for (let at = buffer.indexOf(needle); at >= 0; at = buffer.indexOf(needle, at + 1)) {
        found.push([at, at + needle.length]);
      }
    }
    found.sort((a, b) => a[0] - b[0]);
    const parts: Buffer[] = [];
    let pos = 0;
    let cut = final ? buffer.length : limit;
    for (let i = 0; i < found.length; ) {
      const [start, firstEnd] = found[i] as [number, number];
      let end = firstEnd;
      for (i++; i < found.length && (found[i] as [number, number])[0] < end; i++) {
        end = Math.max(end, (found[i] as [number, number])[1]);
      }
      if (!final && end > limit && buffer.length - start <= MAX_CARRY) {
        cut = start;
        break;
      }
      if (start > pos) parts.push(buffer.subarray(pos, start));
      parts.push(this.replacement);
      this.replacements++;
      pos = end;
      cut = Math.max(cut, pos);
    }
    if (cut > pos) parts.push(buffer.subarray(pos, cut));
    this.carry = Buffer.from(buffer.subarray(Math.max(cut, pos)));
    // Few parts: views into `buffer`, no copy. Many (a chunk with many replacements): one
    // buffer, because each pushed chunk costs more downstream than copying it once.
    const nonEmpty = parts.filter((p) => p.length > 0);
    return nonEmpty.length > 4 ? [Buffer.concat(nonEmpty)] : nonEmpty;
  }
}

/** Bytes an unsettled occurrence group may hold back before it is replaced as it stands. */
const MAX_CARRY = 1 << 20;

function uniqueNonEmpty(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v.length > 0))];
}
