import type { IncomingMessage, ServerResponse } from 'node:http';
import { NdjsonSplitter } from '../ndjson-splitter';
import type { RecordOutcome } from '../ports';
import type { SourceDefinition } from '../stream-definition';
import type { SourceContext, StreamSource } from '../stream-source';
import { answer, type WebhookHandler } from '../webhook-ingress';

export type WebhookSourceDefinition = Extract<SourceDefinition, { kind: 'webhook' }>;

export interface WebhookSourceOptions {
  readonly register: (path: string, handler: WebhookHandler) => () => void;
  readonly maxBodyBytes: number;
  /** How long a request waits for Kafka before it gets 503. */
  readonly ackTimeoutMs: number;
  /** @default 1 MiB */
  readonly maxRecordBytes?: number;
}

/** At most this many dead-lettered line numbers are listed in an answer. */
const MAX_LISTED = 100;

/**
 * Webhook ingress for one stream: `POST /ingest/<path>` with NDJSON (one record per line; the
 * last line needs no newline) or JSON (`application/json`: one record, or one per element of a
 * top-level array).
 *
 * The answer comes only after every record of the request is acknowledged by Kafka: 200 with
 * counts when all are in the sink topic or the DLQ (malformed ones, listed by line number), 503
 * when some could not be written in time (the sender retries; duplicates are possible, loss is
 * not), 413 / 400 for oversized or unparseable bodies. So a sender that got 2xx never loses data.
 * Backpressure: the request body is paused while the stream's window is full.
 */
export class WebhookSource implements StreamSource {
  private unregister: (() => void) | undefined;
  private readonly active = new Set<Promise<void>>();

  constructor(
    private readonly definition: WebhookSourceDefinition,
    private readonly options: WebhookSourceOptions,
  ) {}

  async start(context: SourceContext): Promise<void> {
    this.unregister = this.options.register(this.definition.path, (req, res) => {
      const handling = this.handle(context, req, res).catch((error: unknown) => {
        context.reportError(error);
        answer(res, 500, { error: 'internal error' });
      });
      this.active.add(handling);
      void handling.finally(() => this.active.delete(handling));
    });
  }

  /** Stops taking requests, then waits for the ones in progress to be answered. */
  async stop(): Promise<void> {
    this.unregister?.();
    await Promise.allSettled([...this.active]);
  }

  private async handle(context: SourceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.options.maxBodyBytes) {
      req.resume();
      answer(res, 413, { error: `body larger than ${this.options.maxBodyBytes} bytes` });
      return;
    }
    let submitted = 0;
    let acked = 0;
    let written = 0;
    let filtered = 0;
    const deadLettered: number[] = [];
    let failed = 0;
    let lastFailure = '';
    let bodyDone = false;
    let settle: () => void = () => undefined;
    const allAcked = new Promise<void>((resolve) => (settle = resolve));
    const check = (): void => {
      if (bodyDone && acked === submitted) settle();
    };
    const submit = (value: Buffer, line: number): void => {
      submitted++;
      context.submit({ value }, (error?: Error, outcome?: RecordOutcome) => {
        acked++;
        if (error) {
          failed++;
          lastFailure = error.message;
        } else if (outcome === 'dead-lettered') deadLettered.push(line);
        else if (outcome === 'filtered') filtered++;
        else written++;
        check();
      });
    };

    const body = await this.readBody(context, req, res, contentType === 'application/json', submit);
    if (body === 'aborted') return; // the sender is gone; it got no 2xx and will retry
    if (body === 'too-large') {
      answer(res, 413, { error: `body larger than ${this.options.maxBodyBytes} bytes` });
      return;
    }
    if (typeof body === 'object') {
      answer(res, 400, { error: body.error });
      return;
    }
    bodyDone = true;
    check();

    let timer: (() => void) | undefined;
    const timedOut = await Promise.race([
      allAcked.then(() => false),
      new Promise<boolean>((resolve) => (timer = context.clock.setTimer(() => resolve(true), this.options.ackTimeoutMs))),
    ]);
    timer?.();
    deadLettered.sort((a, b) => a - b);
    const counts = {
      received: submitted,
      written,
      filtered,
      deadLettered: deadLettered.length,
      deadLetteredLines: deadLettered.slice(0, MAX_LISTED),
    };
    if (timedOut || failed > 0) {
      answer(
        res,
        503,
        {
          ...counts,
          notWritten: submitted - written - filtered - deadLettered.length,
          error: timedOut ? 'Kafka did not acknowledge in time; retry the request' : `not written: ${lastFailure}`,
        },
        { 'retry-after': '5' },
      );
      return;
    }
    answer(res, 200, counts);
  }

  /**
   * Streams the body into records. Resolves 'ok' when the body ended, 'aborted' when the
   * sender went away, 'too-large', or { error } for a JSON body that does not parse.
   */
  private readBody(
    context: SourceContext,
    req: IncomingMessage,
    res: ServerResponse,
    json: boolean,
    submit: (value: Buffer, line: number) => void,
  ): Promise<'ok' | 'aborted' | 'too-large' | { error: string }> {
    return new Promise((resolve) => {
      let bytes = 0;
      let line = 0;
      let done = false;
      const chunks: Buffer[] = [];
      const splitter = new NdjsonSplitter(this.options.maxRecordBytes);
      const finish = (result: 'ok' | 'aborted' | 'too-large' | { error: string }): void => {
        if (done) return;
        done = true;
        resolve(result);
      };
      const onLine = (value: Buffer): void => submit(value, ++line);
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > this.options.maxBodyBytes) {
          req.pause();
          finish('too-large');
          return;
        }
        if (json) {
          chunks.push(chunk);
          return;
        }
        splitter.push(chunk, onLine);
        if (context.window.full && !req.isPaused()) {
          req.pause();
          context.window.whenOpen().then(() => req.resume(), () => req.destroy());
        }
      });
      req.on('end', () => {
        if (json) {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch (error) {
            finish({ error: `body is not JSON: ${(error as Error).message}` });
            return;
          }
          const items = Array.isArray(parsed) ? parsed : [parsed];
          items.forEach((item, i) => submit(Array.isArray(parsed) ? Buffer.from(JSON.stringify(item)) : Buffer.from(text), i + 1));
        } else {
          // The end of the body ends its last line: a complete request has no partial record.
          splitter.push(Buffer.from('\n'), onLine);
        }
        finish('ok');
      });
      req.on('aborted', () => finish('aborted'));
      req.on('error', () => finish('aborted'));
      res.on('close', () => {
        if (!res.writableEnded) finish('aborted');
      });
    });
  }
}

