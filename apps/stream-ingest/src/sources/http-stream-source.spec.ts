import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { eventually } from '@wharf/testing';
import { sourceHarness } from '../../test/source-harness';
import { HttpStreamSource } from './http-stream-source';

type Handler = (req: IncomingMessage, res: ServerResponse, connection: number) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/stream`, requests };
}

const fast = { backoff: { minDelayMs: 10, maxDelayMs: 50 } };
const servers: Server[] = [];
const sources: HttpStreamSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe('HttpStreamSource (ndjson)', () => {
  it('sends the bearer token and headers, and delivers every complete line in order', async () => {
    const { server, url, requests } = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (n === 1) res.end('{"n":1}\n{"n":2}\n{"n":3}\n');
      // later connections: keep open, send nothing
    });
    servers.push(server);
    const { sink, context } = sourceHarness();
    const source = new HttpStreamSource({ kind: 'http', url, format: 'ndjson', headers: { 'X-Client': 'wharf' }, bearerToken: 's3cret' }, fast);
    sources.push(source);
    await source.start(context);
    await eventually(() => expect(sink.values('orders-out')).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']));
    expect(requests[0]?.headers['authorization']).toBe('Bearer s3cret');
    expect(requests[0]?.headers['x-client']).toBe('wharf');
  });

  it('drops a line cut by a disconnect, loses nothing complete, and reconnects', async () => {
    const { server, url } = await serve((_req, res, n) => {
      res.writeHead(200);
      if (n === 1) {
        res.write('{"n":1}\n{"n":2}\n{"n":3, "trunc');
        setTimeout(() => res.destroy(), 20); // the connection dies mid-line
      } else if (n === 2) {
        res.write('{"n":3}\n{"n":4}\n');
      }
    });
    servers.push(server);
    const { sink, context } = sourceHarness();
    const source = new HttpStreamSource({ kind: 'http', url, format: 'ndjson', headers: {}, bearerToken: '' }, fast);
    sources.push(source);
    await source.start(context);
    await eventually(() => expect(sink.values('orders-out')).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']));
    expect(source.connects).toBe(2);
  });

  it('reconnects with backoff after errors and reports them', async () => {
    const { server, url } = await serve((_req, res, n) => {
      if (n < 3) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200);
      res.write('ok\n');
    });
    servers.push(server);
    const { sink, context, errors } = sourceHarness();
    const source = new HttpStreamSource({ kind: 'http', url, format: 'ndjson', headers: {}, bearerToken: 'never-logged' }, fast);
    sources.push(source);
    await source.start(context);
    await eventually(() => expect(sink.values('orders-out')).toEqual(['ok']));
    expect(errors.map((e) => (e as Error).message)).toEqual(['the source answered HTTP 503', 'the source answered HTTP 503']);
    expect(JSON.stringify(errors)).not.toContain('never-logged');
  });

  it('pauses reading when the window is full instead of buffering', async () => {
    const line = `${'x'.repeat(99)}\n`;
    let written = 0;
    let writableWhenStopped = true;
    const { server, url } = await serve((_req, res) => {
      res.writeHead(200);
      const pump = (): void => {
        while (written < 100_000) {
          written++;
          if (!res.write(line)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
      setTimeout(() => (writableWhenStopped = res.writableNeedDrain), 500);
    });
    servers.push(server);
    const { sink, runner, context } = sourceHarness({ limits: { maxInFlightRecords: 1000, maxInFlightBytes: 1 << 20 } });
    sink.auto = false; // Kafka "stopped": nothing is ever acknowledged
    const source = new HttpStreamSource({ kind: 'http', url, format: 'ndjson', headers: {}, bearerToken: '' }, fast);
    sources.push(source);
    await source.start(context);
    await eventually(() => expect(runner.inFlight).toBeGreaterThanOrEqual(1000));
    await new Promise((resolve) => setTimeout(resolve, 600));
    // Held: the window plus at most what one socket read returned (64 KiB ≈ 650 lines).
    expect(runner.inFlight).toBeLessThan(1000 + 700);
    expect(written).toBeLessThan(100_000); // the server was pushed back (TCP), not drained into memory
    expect(writableWhenStopped).toBe(true);
    // Kafka comes back: everything flows.
    sink.auto = true;
    for (const pending of sink.pending.splice(0)) pending.resolve();
    await eventually(() => expect(sink.written.length).toBe(100_000), { timeoutMs: 30_000 });
  }, 40_000);
});

describe('HttpStreamSource (sse)', () => {
  it('resumes with Last-Event-ID of the last acknowledged event and never emits a cut event', async () => {
    const { server, url, requests } = await serve((req, res, n) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (n === 1) {
        res.write('retry: 20\n\nid: 1\ndata: {"n":1}\n\nid: 2\ndata: {"n":2}\n\nid: 3\ndata: {"n":');
        setTimeout(() => res.destroy(), 20);
        return;
      }
      const after = Number(req.headers['last-event-id'] ?? 0);
      for (let i = after + 1; i <= 5; i++) res.write(`id: ${i}\nevent: tick\ndata: {"n":${i}}\n\n`);
    });
    servers.push(server);
    const { sink, context } = sourceHarness();
    const source = new HttpStreamSource({ kind: 'http', url, format: 'sse', headers: {}, bearerToken: '' }, fast);
    sources.push(source);
    await source.start(context);
    await eventually(() =>
      expect(sink.values('orders-out')).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}']),
    );
    expect(requests[0]?.headers['last-event-id']).toBeUndefined();
    expect(requests[0]?.headers['accept']).toBe('text/event-stream');
    expect(requests[1]?.headers['last-event-id']).toBe('2');
    expect(sink.headers('orders-out')[4]).toEqual({ 'sse-id': '5', 'sse-event': 'tick' });
    expect(source.lastAckedEventId).toBe('5');
  });

  it('does not advance Last-Event-ID past events Kafka has not acknowledged', async () => {
    const { server, url, requests } = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (n === 1) {
        res.write('id: a\ndata: 1\n\nid: b\ndata: 2\n\n');
        setTimeout(() => res.destroy(), 50);
      }
    });
    servers.push(server);
    const { sink, context } = sourceHarness();
    sink.auto = false;
    const source = new HttpStreamSource({ kind: 'http', url, format: 'sse', headers: {}, bearerToken: '' }, fast);
    sources.push(source);
    await source.start(context);
    await eventually(() => expect(requests.length).toBe(2));
    expect(requests[1]?.headers['last-event-id']).toBeUndefined(); // nothing was acknowledged yet
    sink.pending.shift()?.resolve(); // "a" lands
    await eventually(() => expect(source.lastAckedEventId).toBe('a'));
  });
});
