import { createParser, type EventSourceParser } from 'eventsource-parser';

/** One complete server-sent event. */
export interface SseEvent {
  readonly data: string;
  /** The event's `id:` field, when the server sent one. */
  readonly id?: string;
  readonly event?: string;
}

/**
 * Server-sent events over a byte stream, parsed with eventsource-parser (spec-compliant field
 * handling, comments, `retry:`). Bytes are decoded as a UTF-8 stream, so a character split
 * across chunks survives. An event is emitted only when its terminating blank line arrived; at a
 * disconnect {@link SseDecoder.discard} drops the incomplete event (never emitted).
 */
export class SseDecoder {
  private readonly parser: EventSourceParser;
  private decoder = new TextDecoder('utf-8');
  private onEvent: (event: SseEvent) => void = () => undefined;
  /** The reconnection delay the server asked for (`retry:`), if any. */
  retryMs: number | undefined;

  constructor() {
    this.parser = createParser({
      onEvent: (message) => {
        const event: { data: string; id?: string; event?: string } = { data: message.data };
        if (message.id !== undefined) event.id = message.id;
        if (message.event !== undefined) event.event = message.event;
        this.onEvent(event);
      },
      onRetry: (ms) => {
        this.retryMs = ms;
      },
    });
  }

  /** Feeds a chunk; calls `onEvent` for each completed event, in order. */
  push(chunk: Uint8Array, onEvent: (event: SseEvent) => void): void {
    this.onEvent = onEvent;
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
  }

  /** Drops any incomplete event (a disconnect). */
  discard(): void {
    this.parser.reset({ consume: false });
    this.decoder = new TextDecoder('utf-8');
  }
}
