import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Component, Logger } from '@wharf/platform';

/** Handles one POST to a registered path. */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface WebhookIngressOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly logger: Logger;
}

/** Writes a JSON answer (webhook senders read the counts and reasons). */
export function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(`${JSON.stringify(body)}\n`);
}

/**
 * The HTTP ingress of webhook sources: `POST /ingest/<path>`. Webhook streams register their
 * path while they run on this replica; a path no running stream serves gets 404 with
 * Retry-After (the stream may be moving between replicas).
 */
export class WebhookIngress implements Component {
  readonly name = 'webhook-ingress';
  private server: Server | undefined;
  private readonly routes = new Map<string, WebhookHandler>();
  /** The bound port (after start). */
  port = 0;

  constructor(private readonly options: WebhookIngressOptions) {}

  /** Serves `path` with `handler` until the returned function is called. */
  register(path: string, handler: WebhookHandler): () => void {
    this.routes.set(path, handler);
    return () => {
      if (this.routes.get(path) === handler) this.routes.delete(path);
    };
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.route(req, res));
    server.requestTimeout = 0; // a large webhook body may stream for a while under backpressure
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        const address = server.address();
        this.port = typeof address === 'object' && address ? address.port : this.options.port;
        resolve();
      });
    });
    this.options.logger.info({ port: this.port }, 'webhook ingress listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    let path: string;
    try {
      path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    } catch {
      req.resume();
      answer(res, 400, { error: 'malformed URL' });
      return;
    }
    if (!path.startsWith('/ingest/')) {
      answer(res, 404, { error: 'not found' });
      return;
    }
    const handler = this.routes.get(path.slice('/ingest/'.length).replace(/\/+$/, ''));
    if (!handler) {
      req.resume();
      answer(res, 404, { error: 'no stream serves this path on this replica' }, { 'retry-after': '5' });
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      answer(res, 405, { error: 'use POST' }, { allow: 'POST' });
      return;
    }
    handler(req, res);
  }
}
