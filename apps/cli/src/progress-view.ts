import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { JobProgress } from './job-progress';

/** How `watch` shows a job's progress: bars on a terminal, one line per event otherwise. */
export interface ProgressView {
  update(progress: JobProgress): void;
  /** A line about something that happened (event, reconnect). */
  log(line: string): void;
  stop(): void;
}

export class LineProgressView implements ProgressView {
  constructor(private readonly out: { write(text: string): void }) {}
  update(): void {
    // Lines only: each event is already one line.
  }
  log(line: string): void {
    this.out.write(`${line}\n`);
  }
  stop(): void {
    // Nothing to tear down.
  }
}

/** A live bar: indexes done / failed / running of the total, and the job's state. */
export class BarProgressView implements ProgressView {
  private readonly multi: MultiBar;
  private bar: SingleBar | undefined;

  constructor(stream: NodeJS.WritableStream) {
    this.multi = new MultiBar(
      {
        stream,
        format:
          ' {jobId} [{bar}] {done}/{total} done | {failed} failed | {active} running | {state}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        barsize: 30,
        forceRedraw: true,
      },
      Presets.shades_classic,
    );
  }

  update(progress: JobProgress): void {
    const payload = {
      jobId: progress.jobId,
      done: progress.counts.succeeded,
      failed: progress.counts.failed,
      active: progress.counts.active,
      state: progress.state,
    };
    const total = Math.max(progress.counts.total, 1);
    const value = progress.counts.succeeded + progress.counts.failed;
    if (!this.bar) this.bar = this.multi.create(total, value, { ...payload, total });
    else {
      this.bar.setTotal(total);
      this.bar.update(value, { ...payload, total });
    }
  }

  log(line: string): void {
    this.multi.log(`${line}\n`);
  }

  stop(): void {
    this.multi.stop();
  }
}
