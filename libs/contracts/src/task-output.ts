/**
 * Task outputs (ADR 0007): a task emits a small JSON value by printing, on its main container's
 * stdout, a line
 *
 *     ::wharf-output:: <json>
 *
 * The last such line with valid JSON wins; the JSON is at most 64 KiB. job-launcher scans the
 * `main` container's log when an index succeeds and reports the result in
 * `IndexObservation.result.outputJson`. The scanner reads a log of any length in bounded memory.
 *
 * It is part of the contract (here, not in an app) because both sides use it: job-launcher
 * produces outputs with it, and the scheduler and tests may parse a log the same way.
 */

export const outputMarker = '::wharf-output::';
export const defaultMaxOutputBytes = 64 * 1024;

export interface TaskOutputResult {
  /** Canonical JSON text of the output ('' when the task emitted none). */
  readonly outputJson: string;
  /** Why a marker line was not taken (invalid JSON, too large); '' when fine. */
  readonly problem: string;
}

/** Incremental scanner: push log chunks as they stream, then `finish()`. */
export class TaskOutputScanner {
  private partial = '';
  private overflow = false;
  private output = '';
  private problem = '';
  private readonly maxLineLength: number;

  constructor(private readonly maxOutputBytes: number = defaultMaxOutputBytes) {
    // A marker line may hold up to maxOutputBytes of JSON; longer lines are not outputs.
    this.maxLineLength = outputMarker.length + 1 + maxOutputBytes * 4 + 64;
  }

  push(chunk: string): void {
    let text = this.partial + chunk;
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      if (!this.overflow) this.line(text.slice(0, newline));
      this.overflow = false;
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    if (text.length > this.maxLineLength) {
      // Keep only the line's beginning, to tell a too-large marker line from other text.
      if (!this.overflow && text.trimStart().startsWith(outputMarker)) this.problem = `output larger than ${this.maxOutputBytes} bytes`;
      this.overflow = true;
      text = '';
    }
    this.partial = text;
  }

  finish(): TaskOutputResult {
    if (this.partial && !this.overflow) this.line(this.partial);
    this.partial = '';
    return { outputJson: this.output, problem: this.problem };
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const start = line.trimStart();
    if (!start.startsWith(outputMarker)) return;
    const json = start.slice(outputMarker.length).trim();
    if (Buffer.byteLength(json, 'utf8') > this.maxOutputBytes) {
      this.problem = `output larger than ${this.maxOutputBytes} bytes`;
      return;
    }
    try {
      this.output = JSON.stringify(JSON.parse(json) as unknown);
      this.problem = '';
    } catch {
      this.problem = 'output marker line is not valid JSON';
    }
  }
}

/** The output a task's log carries (see {@link TaskOutputScanner}). */
export function parseTaskOutput(log: string, maxOutputBytes: number = defaultMaxOutputBytes): TaskOutputResult {
  const scanner = new TaskOutputScanner(maxOutputBytes);
  scanner.push(log);
  return scanner.finish();
}
