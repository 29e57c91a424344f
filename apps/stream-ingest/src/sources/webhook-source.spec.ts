import { request } from 'node:http';
import { eventually } from '@wharf/testing';
import { sourceHarness } from '../../test/source-harness';
import { silentLogger } from '../../test/stream-fixtures';
import { WebhookIngress } from '../webhook-ingress';
import { WebhookSource } from './webhook-source';

function post(port: number, path: string, body: string, contentType = 'application/x-ndjson'): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('WebhookSource', () => {
  let ingress: WebhookIngress;
  beforeEach(async () => {
    ingress = new WebhookIngress({ host: '127.0.0.1', port: 0, logger: silentLogger });
    await ingress.start();
  });
  afterEach(() => ingress.stop());

  async function startSource(overrides: Parameters<typeof sourceHarness>[0] = {}, ackTimeoutMs = 5_000) {
    const harness = sourceHarness(overrides);
    const source = new WebhookSource(
      { kind: 'webhook', path: 'github/events' },
      { register: (p, h) => ingress.register(p, h), maxBodyBytes: 1024, ackTimeoutMs },
    );
    await source.start(harness.context);
    return { ...harness, source };
  }

  it('answers 200 only after Kafka acknowledged every record', async () => {
    const { sink } = await startSource();
    sink.auto = false;
    let answered = false;
    const response = post(ingress.port, '/ingest/github/events', '{"a":1}\n{"a":2}\n{"a":3}').then((r) => {
      answered = true;
      return r;
    });
    await eventually(() => expect(sink.pending.length).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    sink.auto = true;
    sink.pending.shift()?.resolve();
    const { status, body } = await response;
    expect(status).toBe(200);
    expect(body).toMatchObject({ received: 3, written: 3, deadLettered: 0 });
    expect(sink.values('orders-out')).toEqual(['{"a":1}', '{"a":2}', '{"a":3}']);
  });

  it('reports malformed lines by number; they are in the DLQ, the rest in the sink', async () => {
    const { sink } = await startSource({ processors: [{ parseJson: true }] });
    const { status, body } = await post(ingress.port, '/ingest/github/events', '{"ok":1}\n{bad\n{"ok":2}\nnope\n');
    expect(status).toBe(200);
    expect(body).toMatchObject({ received: 4, written: 2, deadLettered: 2, deadLetteredLines: [2, 4] });
    expect(sink.values('orders-out.dlq')).toEqual(['{bad', 'nope']);
  });

  it('answers 503 when Kafka does not acknowledge in time, so the sender retries', async () => {
    const { sink } = await startSource({}, 100);
    sink.auto = false;
    const { status, body } = await post(ingress.port, '/ingest/github/events', 'x\n');
    expect(status).toBe(503);
    expect(body).toMatchObject({ received: 1, written: 0, notWritten: 1 });
  });

  it('takes a JSON array as one record per element', async () => {
    const { sink } = await startSource();
    const { status } = await post(ingress.port, '/ingest/github/events', '[{"a":1},{"b":2}]', 'application/json');
    expect(status).toBe(200);
    expect(sink.values('orders-out')).toEqual(['{"a":1}', '{"b":2}']);
    expect((await post(ingress.port, '/ingest/github/events', '{oops', 'application/json')).status).toBe(400);
  });

  it('rejects oversized bodies and unknown paths', async () => {
    await startSource();
    expect((await post(ingress.port, '/ingest/github/events', 'x'.repeat(2048))).status).toBe(413);
    expect((await post(ingress.port, '/ingest/other', 'x\n')).status).toBe(404);
    expect((await post(ingress.port, '/ingest/%E0%A4%A', 'x\n')).status).toBe(400);
  });

  it('stops serving its path when stopped', async () => {
    const { source } = await startSource();
    await source.stop();
    expect((await post(ingress.port, '/ingest/github/events', 'x\n')).status).toBe(404);
  });
});
