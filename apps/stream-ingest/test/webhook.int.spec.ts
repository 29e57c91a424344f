import { request } from 'node:http';
import { eventually, uniqueName } from '@wharf/testing';
import { collect, startStreamIngest } from './kafka-test-kit';
import { startOwnKafka } from './own-kafka';

function post(port: number, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ingest/hooks/orders', method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', () => resolve({ status: 0, body: {} }));
    req.end(body);
  });
}

describe('webhook ingress (real broker)', () => {
  it('answers 2xx only for records that are in Kafka, also while the broker is frozen', async () => {
    const kafka = await startOwnKafka();
    const topic = uniqueName('hooks');
    const app = await startStreamIngest(
      kafka.brokers,
      [
        {
          id: 'hooks',
          tenant: 't',
          paused: false,
          source: { webhook: { path: 'hooks/orders' } },
          processors: [{ parseJson: true }, { key: 'order' }],
          sink: { topic, headers: {} },
        },
      ],
      { ingress: { port: 0, ackTimeoutMs: 3_000 } },
    );
    const acknowledged = new Set<string>();
    const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `{"order":"o${from + i}"}`);
    const send = async (batch: string[]): Promise<number> => {
      const { status } = await post(app.ingress.port, batch.join('\n'));
      if (status >= 200 && status < 300) for (const l of batch) acknowledged.add(l);
      return status;
    };
    try {
      await eventually(async () => expect(app.streams.stream('hooks')?.state).toBe('running'), { timeoutMs: 60_000 });
      expect(await send(lines(0, 100))).toBe(200);

      kafka.process.pause(); // SIGSTOP: the broker is frozen, connections hang
      const frozen = lines(100, 100);
      expect(await send(frozen)).toBe(503); // not in Kafka → no 2xx
      kafka.process.resume();
      // The sender retries the same batch until it gets 2xx.
      await eventually(async () => expect(await send(frozen)).toBe(200), { timeoutMs: 120_000, intervalMs: 1_000 });
      expect(await send(lines(200, 100))).toBe(200);

      const landed = await collect(kafka.brokers, topic);
      try {
        await eventually(
          () => {
            const values = new Set(landed.records.map((r) => r.value));
            expect([...acknowledged].filter((l) => !values.has(l))).toEqual([]);
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        expect(landed.records.every((r) => r.key === (JSON.parse(r.value) as { order: string }).order)).toBe(true);
      } finally {
        await landed.stop();
      }
    } finally {
      kafka.process.resume();
      await app.stop();
      await kafka.cleanup();
    }
  }, 300_000);
});
