import { UnavailableError } from '@wharf/platform';
import { sleepOn } from '@wharf/platform';
import type { SourceDefinition } from '../stream-definition';
import { yieldToIo, type SourceContext, type StreamSource } from '../stream-source';

export type GeneratorSourceDefinition = Extract<SourceDefinition, { kind: 'generator' }>;

/** "{{ seq }}" (spaces optional) in the template becomes the record number. */
const SEQ = /\{\{\s*seq\s*\}\}/g;

/**
 * Generates records for demos and benchmarks: `count` records (0: unbounded) from `template`,
 * `rate` per second (0: as fast as the sink accepts, i.e. as fast as the window lets it).
 * Numbering starts at 1 and continues across restarts of the same stream on this replica.
 */
export class GeneratorSource implements StreamSource {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly parts: readonly string[];

  constructor(
    private readonly definition: GeneratorSourceDefinition,
    /** The last number generated before (a restart resumes after it). */
    private next = 1,
  ) {
    this.parts = definition.template.split(SEQ);
  }

  /** The next record number. */
  get position(): number {
    return this.next;
  }

  async start(context: SourceContext): Promise<void> {
    this.running = this.loop(context).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.abort.abort(new UnavailableError('source stopped'));
    await this.running;
  }

  private async loop(context: SourceContext): Promise<void> {
    const { signal } = this.abort;
    const { rate, count } = this.definition;
    const startedAt = context.clock.now();
    const first = this.next;
    while (!signal.aborted && (count === 0 || this.next <= count)) {
      if (context.window.full) await context.window.whenOpen(signal);
      if (rate > 0) {
        const due = startedAt + ((this.next - first) * 1000) / rate;
        const wait = due - context.clock.now();
        if (wait > 0) await sleepOn(context.clock, wait, signal);
      } else if ((this.next & 1023) === 0) {
        await yieldToIo();
      }
      if (signal.aborted) return;
      context.submit({ value: Buffer.from(this.parts.join(String(this.next)), 'utf8') });
      this.next++;
    }
  }
}
