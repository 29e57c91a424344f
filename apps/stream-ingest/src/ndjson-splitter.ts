const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into newline-delimited records.
 *
 * Contract: only complete lines (terminated by `\n`; a trailing `\r` is removed) are returned.
 * Bytes after the last newline are held until more arrive; at a disconnect the caller calls
 * {@link NdjsonSplitter.discard}, which drops them: a partial line is never emitted. Blank lines
 * are skipped. A line longer than `maxLineBytes` is not buffered without bound: it is reported
 * once (see `oversized`) and skipped up to its newline.
 */
export class NdjsonSplitter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private skipping = false;
  /** Lines dropped because they exceeded maxLineBytes. */
  oversized = 0;

  constructor(private readonly maxLineBytes = 1024 * 1024) {}

  /** Feeds a chunk; calls `onLine` with each completed line, in order. */
  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline < 0) break;
      if (this.skipping) {
        this.skipping = false;
      } else {
        let line: Buffer;
        if (this.heldBytes > 0) {
          this.held.push(chunk.subarray(start, newline));
          line = Buffer.concat(this.held, this.heldBytes + newline - start);
          this.held = [];
          this.heldBytes = 0;
        } else {
          line = chunk.subarray(start, newline);
        }
        if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, line.length - 1);
        if (line.length > this.maxLineBytes) this.oversized++;
        else if (line.length > 0) onLine(line);
      }
      start = newline + 1;
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.subarray(start);
      if (this.heldBytes + rest.length > this.maxLineBytes) {
        this.held = [];
        this.heldBytes = 0;
        this.skipping = true;
        this.oversized++;
      } else {
        // Copy: the caller may reuse the chunk's memory (and a slice would pin a large chunk).
        this.held.push(Buffer.from(rest));
        this.heldBytes += rest.length;
      }
    }
  }

  /** Bytes of the incomplete line held back. */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  /** Drops the incomplete line (a disconnect); returns how many bytes were dropped. */
  discard(): number {
    const dropped = this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    this.skipping = false;
    return dropped;
  }
}
