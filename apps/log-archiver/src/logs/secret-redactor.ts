import { Transform, type TransformCallback } from 'node:stream';

export interface SecretRedactorOptions {
  /** The secret values to replace (UTF-8). Empty values are ignored. */
  readonly secrets: readonly string[];
  /** @default '[redacted]' */
  readonly replacement?: string;
}

const EMPTY = Buffer.alloc(0);

/**
 * Replaces every occurrence of the job's secret values in a byte stream, also when a value
 * straddles chunk boundaries. Overlapping occurrences (of the same or different values) are
 * merged and replaced once, so no fragment of any value survives. Works on bytes, so
 * multi-byte characters split across chunks are handled like any other byte.
 *
 * How, without copying the stream: the last `longest - 1` bytes of each chunk (the *carry*) are
 * held back, because a value may start there and continue in the next chunk. When the next chunk
 * arrives, only the boundary window — the carry plus the chunk's first `longest - 1` bytes — is
 * copied and searched for occurrences starting in the carry; the chunk itself is searched in
 * place (native `Buffer.indexOf` per value). Output is views into the input (the carry, then
 * the chunk up to its own held-back tail); a chunk with many replacements is coalesced into one
 * buffer, because each pushed piece costs more downstream than one copy.
 *
 * Memory: the current chunk plus `longest - 1` bytes (at most MAX_CARRY while a chain of
 * overlapping occurrences is still growing).
 */
export class SecretRedactor extends Transform {
  /** How many replacements were made (for the manifest; never the values). */
  replacements = 0;
  private readonly needles: Buffer[];
  private readonly hold: number;
  private readonly replacement: Buffer;
  private carry: Buffer = EMPTY;
  /** Occurrences found in the current step, as flat [start, end) pairs (reused). */
  private readonly found: number[] = [];

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
    this.step(chunk, false);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.needles.length > 0) this.step(EMPTY, true);
    callback();
  }

  /**
   * Processes the virtual buffer `carry ‖ chunk` (positions below `carry.length` are in the
   * carry): emits it up to a cut point with every settled occurrence replaced and keeps the
   * rest as the new carry.
   *
   * Every occurrence starting before `limit = total - hold` is complete and found. An
   * occurrence group (overlapping occurrences merged) is settled once it ends at or before
   * `limit`: nothing still incomplete can overlap it. An unsettled group stays in the carry
   * from its start, bounded by MAX_CARRY against pathological self-overlapping chains
   * ("aaaa…" for a secret "aa").
   */
  private step(input: Buffer, final: boolean): void {
    let carry = this.carry;
    let chunk = input;
    // A small chunk (or the end): too short for the window logic below; merge it (≤ a few
    // hold lengths, unless an unsettled group is being carried).
    if (carry.length > 0 && (final || chunk.length <= this.hold)) {
      carry = chunk.length > 0 ? Buffer.concat([carry, chunk]) : carry;
      chunk = EMPTY;
    }
    const c = carry.length;
    const total = c + chunk.length;
    const limit = final ? total : Math.max(0, total - this.hold);
    const found = this.found;
    found.length = 0;
    let sorted = true;

    if (c > 0) {
      // Occurrences starting in the carry end at most `hold` bytes into the chunk: search the
      // boundary window only (when the chunk was merged above, the window is the carry itself).
      const window = chunk.length > 0 ? Buffer.concat([carry, chunk.subarray(0, this.hold)]) : carry;
      for (const needle of this.needles) {
        for (let at = window.indexOf(needle); at >= 0 && at < c; at = window.indexOf(needle, at + 1)) {
          if (found.length > 0 && at < (found[found.length - 2] as number)) sorted = false;
          found.push(at, at + needle.length);
        }
      }
    }
    if (chunk.length > 0) {
      for (const needle of this.needles) {
        for (let at = chunk.indexOf(needle); at >= 0; at = chunk.indexOf(needle, at + 1)) {
          if (found.length > 0 && c + at < (found[found.length - 2] as number)) sorted = false;
          found.push(c + at, c + at + needle.length);
        }
      }
    }
    if (!sorted) sortPairs(found);

    const parts: Buffer[] = [];
    const emit = (from: number, to: number): void => {
      if (from >= to) return;
      if (to <= c) parts.push(carry.subarray(from, to));
      else if (from >= c) parts.push(chunk.subarray(from - c, to - c));
      else parts.push(carry.subarray(from), chunk.subarray(0, to - c));
    };
    let pos = 0;
    let cut = limit;
    for (let i = 0; i < found.length; ) {
      const start = found[i] as number;
      let end = found[i + 1] as number;
      for (i += 2; i < found.length && (found[i] as number) < end; i += 2) end = Math.max(end, found[i + 1] as number);
      if (!final && end > limit && total - start <= MAX_CARRY) {
        // Held from its start, and never past `limit`: bytes beyond it may begin an
        // occurrence not complete yet (a longer value overlapping this group).
        cut = Math.max(pos, Math.min(start, limit));
        break;
      }
      emit(pos, start);
      parts.push(this.replacement);
      this.replacements++;
      pos = end;
      cut = Math.max(cut, pos);
    }
    emit(pos, cut);
    const rest = Math.max(cut, pos);
    // The carry is copied (a few bytes, normally) so it does not pin the whole chunk.
    this.carry =
      rest >= total ? EMPTY : rest >= c ? Buffer.from(chunk.subarray(rest - c)) : Buffer.concat([carry.subarray(rest), chunk]);

    // Few parts: views into the input, no copy. Many (a chunk with many replacements): one buffer.
    if (parts.length > 4) this.push(Buffer.concat(parts));
    else for (const part of parts) if (part.length > 0) this.push(part);
  }
}

/** Bytes an unsettled occurrence group may hold back before it is replaced as it stands. */
const MAX_CARRY = 1 << 20;

/** Sorts flat [start, end) pairs by start (insertion sort for the usual few pairs). */
function sortPairs(pairs: number[]): void {
  if (pairs.length > 64) {
    const tuples: [number, number][] = [];
    for (let i = 0; i < pairs.length; i += 2) tuples.push([pairs[i] as number, pairs[i + 1] as number]);
    tuples.sort((a, b) => a[0] - b[0]);
    tuples.forEach(([start, end], k) => {
      pairs[2 * k] = start;
      pairs[2 * k + 1] = end;
    });
    return;
  }
  for (let i = 2; i < pairs.length; i += 2) {
    const start = pairs[i] as number;
    const end = pairs[i + 1] as number;
    let j = i - 2;
    while (j >= 0 && (pairs[j] as number) > start) {
      pairs[j + 2] = pairs[j] as number;
      pairs[j + 3] = pairs[j + 1] as number;
      j -= 2;
    }
    pairs[j + 2] = start;
    pairs[j + 3] = end;
  }
}

function uniqueNonEmpty(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v.length > 0))];
}
