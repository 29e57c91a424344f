import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { backoffDelay, UnavailableError, InvalidArgumentError } from '@wharf/platform';
import { sleepOn } from '@wharf/platform';
import { NdjsonSplitter } from '../ndjson-splitter';
import { SseDecoder } from '../sse-decoder';
import type { SourceDefinition } from '../stream-definition';
import { OrderedAcks, type SourceContext, type StreamSource } from '../stream-source';

export type HttpSourceDefinition = Extract<SourceDefinition, { kind: 'http' }>;

/** Headers stream-ingest puts on records from SSE sources. */
export const SseHeaders = { id: 'sse-id', event: 'sse-event' } as const;

export interface HttpStreamSourceOptions {
  /** Reconnect backoff: exponential from min to max, with jitter. @default 500 / 30_000 / 0.5 */
  readonly backoff?: { readonly minDelayMs?: number; readonly maxDelayMs?: number; readonly jitter?: number };
  /** A connection that sent nothing for this long is dropped and reopened. @default 90_000 */
  readonly idleTimeoutMs?: number;
  /** @default 1 MiB */
  readonly maxRecordBytes?: number;
  /** Where an SSE stream resumes (the last id the sink acknowledged before a restart). */
  readonly lastEventId?: string;
}

/**
 * A long-lived HTTP GET that streams newline-delimited records (ndjson) or server-sent events
 * (sse), with the configured headers and bearer token.
 *
 * - Only complete records are submitted: a partial line or event at a disconnect is dropped.
 * - Reconnects forever with exponential backoff and jitter (the server's SSE `retry:` is the
 *   floor); a connection that delivered data resets the backoff.
 * - SSE resumes with `Last-Event-ID` = the newest id whose record (and all before it) the sink
 *   acknowledged, so a reconnect never skips an unacknowledged event.
 * - Backpressure: when the stream's window is full the response is paused (TCP pushes back on
 *   the server) until the window reopens.
 * - The bearer token goes in the Authorization header only; it is never logged or reported.
 */
export class HttpStreamSource implements StreamSource {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private current: ClientRequest | undefined;
  private readonly acks: OrderedAcks<string>;
  /** Connections opened (the first one included). */
  connects = 0;

  constructor(
    private readonly definition: HttpSourceDefinition,
    private readonly options: HttpStreamSourceOptions = {},
  ) {
    this.acks = new OrderedAcks(options.lastEventId);
  }

  /** The SSE id a reconnect resumes from. */
  get lastAckedEventId(): string | undefined {
    return this.acks.committed;
  }

  async start(context: SourceContext): Promise<void> {
    this.running = this.loop(context);
  }

  async stop(): Promise<void> {
    this.abort.abort(new UnavailableError('source stopped'));
    this.current?.destroy();
    await this.running;
  }

  private async loop(context: SourceContext): Promise<void> {
    const { signal } = this.abort;
    const backoff = { minDelayMs: 500, maxDelayMs: 30_000, jitter: 0.5, ...this.options.backoff };
    let attempt = 0;
    let serverRetryMs = 0;
    while (!signal.aborted) {
      let delivered = false;
      try {
        const result = await this.connectOnce(context);
        delivered = result.delivered;
        serverRetryMs = result.retryMs ?? serverRetryMs;
        context.logger.info({ streamId: context.streamId }, 'http source stream ended; reconnecting');
      } catch (error) {
        if (signal.aborted) return;
        delivered = (error as { delivered?: boolean }).delivered === true;
        context.reportError(error);
        context.logger.warn({ streamId: context.streamId, err: (error as Error).message }, 'http source failed; reconnecting');
      }
      attempt = delivered ? 1 : attempt + 1;
      const delayMs = Math.max(serverRetryMs, backoffDelay(attempt, backoff));
      try {
        await sleepOn(context.clock, delayMs, signal);
      } catch {
        return;
      }
    }
  }

  /** One connection: resolves when the server ends the response, rejects on failures. */
  private connectOnce(context: SourceContext): Promise<{ delivered: boolean; retryMs?: number }> {
    const { definition } = this;
    const sse = definition.format === 'sse';
    const url = new URL(definition.url);
    const headers: Record<string, string> = {
      accept: sse ? 'text/event-stream' : 'application/x-ndjson, application/json;q=0.9, */*;q=0.5',
      ...definition.headers,
    };
    if (definition.bearerToken) headers['authorization'] = `Bearer ${definition.bearerToken}`;
    if (sse && this.acks.committed !== undefined) headers['last-event-id'] = this.acks.committed;
    if (sse) headers['cache-control'] = 'no-cache';
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;

    return new Promise((resolve, reject) => {
      let delivered = false;
      let settled = false;
      const splitter = new NdjsonSplitter(this.options.maxRecordBytes);
      const decoder = new SseDecoder();
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        // A disconnect mid-record: drop the partial record, never emit it.
        splitter.discard();
        decoder.discard();
        this.current = undefined;
        if (error) reject(Object.assign(error, { delivered }));
        else resolve({ delivered, retryMs: decoder.retryMs });
      };
      this.connects++;
      const req = request(url, { method: 'GET', headers, signal: this.abort.signal }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          const error =
            status === 401 || status === 403 || status === 404
              ? new InvalidArgumentError(`the source answered HTTP ${status}`)
              : new UnavailableError(`the source answered HTTP ${status}`);
          finish(error);
          return;
        }
        res.setTimeout(this.options.idleTimeoutMs ?? 90_000, () => res.destroy(new UnavailableError('the source sent nothing for too long')));
        let lastId: string | undefined = this.acks.committed;
        const submitLine = (line: Buffer): void => {
          delivered = true;
          context.submit({ value: line });
        };
        const submitEvent = (event: { data: string; id?: string; event?: string }): void => {
          delivered = true;
          if (event.id !== undefined) lastId = event.id;
          const headers: Record<string, string> = {};
          if (event.id !== undefined) headers[SseHeaders.id] = event.id;
          if (event.event !== undefined) headers[SseHeaders.event] = event.event;
          const acked = this.acks.track(lastId);
          context.submit({ value: Buffer.from(event.data, 'utf8'), headers }, (error) => {
            if (!error) acked();
          });
        };
        res.on('data', (chunk: Buffer) => {
          if (sse) decoder.push(chunk, submitEvent);
          else splitter.push(chunk, submitLine);
          if (context.window.full && !res.isPaused()) {
            res.pause();
            context.window.whenOpen(this.abort.signal).then(
              () => res.resume(),
              () => res.destroy(),
            );
          }
        });
        res.on('end', () => finish());
        res.on('error', (error) => finish(error));
        res.on('close', () => finish(res.complete ? undefined : new UnavailableError('the source closed the connection mid-stream')));
      });
      req.on('error', (error) => finish(error));
      this.current = req;
      req.end();
    });
  }
}
