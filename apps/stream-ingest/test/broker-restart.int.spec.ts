import { request } from 'node:http';
import { eventually, uniqueName } from '@wharf/testing';
import { collect, httpSource, startStreamIngest, writeAll } from './kafka-test-kit';
import { startOwnKafka } from './own-kafka';

function post(port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(60_000, () => req.destroy());
    req.end(body);
  });
}

describe('broker killed and restarted mid-stream (real broker, kill -9)', () => {
  it('loses no acknowledged record; duplicates are counted', async () => {
    const kafka = await startOwnKafka();
    const webhookTopic = uniqueName('wh');
    const ndjsonTopic = uniqueName('nd');
    const ndjsonTotal = 30_000;
    // The NDJSON upstream trickles its lines (about 3,000/s), so the kill lands mid-stream.
    const upstream = await httpSource((_req, res, n) => {
      res.writeHead(200);
      if (n !== 1) return;
      void (async () => {
        for (let i = 0; i < ndjsonTotal; i += 300) {
          const chunk = Array.from({ length: Math.min(300, ndjsonTotal - i) }, (_, j) => `{"seq":${i + j}}\n`).join('');
          await writeAll(res, chunk);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
    });
    const app = await startStreamIngest(
      kafka.brokers,
      [
        { id: 'wh', tenant: 't', paused: false, source: { webhook: { path: 'events' } }, processors: [], sink: { topic: webhookTopic, headers: {} } },
        {
          id: 'nd',
          tenant: 't',
          paused: false,
          source: { http: { url: upstream.url, format: 'ndjson', headers: {} } },
          processors: [],
          sink: { topic: ndjsonTopic, headers: {} },
        },
      ],
      { ingress: { port: 0, ackTimeoutMs: 5_000 } },
    );
    const acked = new Set<number>();
    let sent = 0;
    let attempts = 0;
    let sending = true;
    const sender = (async () => {
      let next = 0;
      while (sending) {
        const batch = Array.from({ length: 50 }, (_, i) => next + i);
        next += 50;
        // Retry the same batch until it is acknowledged (a sender that honours the contract).
        for (;;) {
          attempts++;
          const status = await post(app.ingress.port, '/ingest/events', batch.map((id) => `{"id":${id}}`).join('\n'));
          if (status >= 200 && status < 300) {
            for (const id of batch) acked.add(id);
            sent += batch.length;
            break;
          }
          if (!sending) return;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })();
    try {
      await eventually(() => expect(acked.size).toBeGreaterThan(2_000), { timeoutMs: 60_000 });
      await kafka.process.kill(); // kill -9, mid-stream
      const ackedAtKill = acked.size;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      await kafka.process.restart();
      await eventually(() => expect(acked.size).toBeGreaterThan(ackedAtKill + 2_000), { timeoutMs: 120_000 });
      sending = false;
      await sender;

      const webhook = await collect(kafka.brokers, webhookTopic);
      const ndjson = await collect(kafka.brokers, ndjsonTopic);
      try {
        await eventually(
          () => {
            const landed = new Set(webhook.records.map((r) => (JSON.parse(r.value) as { id: number }).id));
            const missing = [...acked].filter((id) => !landed.has(id));
            expect(missing).toEqual([]);
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        await eventually(
          () => expect(new Set(ndjson.records.map((r) => r.value)).size).toBe(ndjsonTotal),
          { timeoutMs: 120_000, intervalMs: 500 },
        );
        const webhookDuplicates = webhook.records.length - new Set(webhook.records.map((r) => r.value)).size;
        const ndjsonDuplicates = ndjson.records.length - ndjsonTotal;
        process.stdout.write(
          `broker kill -9: webhook ${acked.size} acknowledged (${sent} sent, ${attempts} requests), 0 lost, ${webhookDuplicates} duplicates; ` +
            `ndjson ${ndjsonTotal} lines, 0 lost, ${ndjsonDuplicates} duplicates\n`,
        );
      } finally {
        await webhook.stop();
        await ndjson.stop();
      }
    } finally {
      sending = false;
      await app.stop();
      await upstream.close();
      await kafka.cleanup();
    }
  }, 400_000);
});
