import { eventually, testInfra, uniqueName } from '@wharf/testing';
import { collect, httpSource, startStreamIngest, writeAll } from './kafka-test-kit';

const brokers = () => testInfra().kafka.brokers;

describe('HTTP sources → Kafka (real broker)', () => {
  it('NDJSON: every line arrives, in order per key; a disconnect mid-line loses nothing complete and emits no partial record', async () => {
    const total = 10_000;
    const lines = Array.from({ length: total }, (_, i) => JSON.stringify({ key: `k${i % 10}`, seq: i, pad: 'x'.repeat(100) }));
    // The upstream cuts the connection mid-line at these lines; a reconnect resumes at the cut line.
    const cuts = [1_234, 4_321, 8_765];
    let next = 0;
    const upstream = await httpSource((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const cut = cuts.find((c) => c > next);
      const end = cut ?? total;
      const body = lines.slice(next, end).map((l) => `${l}\n`).join('');
      void writeAll(res, body).then(() => {
        if (cut === undefined) {
          next = total;
          return; // keep the connection open, idle
        }
        next = cut;
        // Half a line, then the connection dies — once everything written reached the socket
        // (destroying earlier would drop complete lines still queued in this process).
        res.write((lines[cut] as string).slice(0, 25), () => setTimeout(() => res.destroy(), 50));
      });
    });
    const topic = uniqueName('ndjson');
    const landed = await collect(brokers(), topic);
    const app = await startStreamIngest(brokers(), [
      {
        id: uniqueName('ndjson'),
        tenant: 't',
        paused: false,
        source: { http: { url: upstream.url, format: 'ndjson', headers: {}, bearerToken: 'tok' } },
        processors: [{ parseJson: true }, { key: 'key' }],
        sink: { topic, headers: {} },
      },
    ]);
    try {
      await eventually(() => expect(landed.records.length).toBeGreaterThanOrEqual(total), { timeoutMs: 120_000, intervalMs: 500 });
      const values = landed.records.map((r) => JSON.parse(r.value) as { key: string; seq: number });
      expect(new Set(values.map((v) => v.seq)).size).toBe(total); // every line, none partial (all parse)
      expect(landed.records.length).toBe(total); // and no duplicates on this path
      for (const record of landed.records) expect(record.key).toBe((JSON.parse(record.value) as { key: string }).key);
      const byKey = new Map<string, number[]>();
      for (const v of values) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v.seq]);
      for (const seqs of byKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(upstream.requests.length).toBe(cuts.length + 1);
      expect(upstream.requests[0]?.headers['authorization']).toBe('Bearer tok');
    } finally {
      await app.stop();
      await landed.stop();
      await upstream.close();
    }
  });

  it('NDJSON: 100 malformed records among 10,000 → 100 in the DLQ with reasons, 9,900 in the sink, no restart', async () => {
    const total = 10_000;
    const bad = new Set(Array.from({ length: 100 }, (_, i) => i * 100 + 37));
    const body = Array.from({ length: total }, (_, i) => (bad.has(i) ? `{"seq":${i}, broken` : JSON.stringify({ seq: i })))
      .map((l) => `${l}\n`)
      .join('');
    const upstream = await httpSource((_req, res, n) => {
      res.writeHead(200);
      if (n === 1) void writeAll(res, body);
    });
    const topic = uniqueName('dlq');
    const sink = await collect(brokers(), topic);
    const dlq = await collect(brokers(), `${topic}.dlq`);
    const id = uniqueName('dlq');
    const app = await startStreamIngest(brokers(), [
      {
        id,
        tenant: 't',
        paused: false,
        source: { http: { url: upstream.url, format: 'ndjson', headers: {} } },
        processors: [{ parseJson: true }],
        sink: { topic, headers: {} },
      },
    ]);
    try {
      await eventually(
        () => {
          expect(sink.records.length).toBe(9_900);
          expect(dlq.records.length).toBe(100);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      for (const record of dlq.records) {
        expect(record.value).toMatch(/broken$/);
        expect(record.headers['wharf-error']).toMatch(/not JSON/);
        expect(record.headers['wharf-error-step']).toBe('processors[0].parse_json');
        expect(record.headers['wharf-stream-id']).toBe(id);
      }
      expect(upstream.requests.length).toBe(1); // the stream never restarted or reconnected
      expect(app.streams.stream(id)).toMatchObject({ state: 'running', counters: { recordsIn: 10_000, recordsOut: 9_900, dlq: 100 } });
    } finally {
      await app.stop();
      await sink.stop();
      await dlq.stop();
      await upstream.close();
    }
  });

  it('SSE: resumes from Last-Event-ID after drops at random byte offsets; every event once, none partial', async () => {
    const total = 2_000;
    const eventText = (i: number) => `id: ${i}\nevent: tick\ndata: {"n":${i},"text":"${'y'.repeat(50)}"}\n\n`;
    const lastIds: (string | undefined)[] = [];
    let drops = 0;
    const upstream = await httpSource((req, res) => {
      const lastId = req.headers['last-event-id'] as string | undefined;
      lastIds.push(lastId);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const from = lastId === undefined ? 1 : Number(lastId) + 1;
      let body = 'retry: 50\n\n';
      for (let i = from; i <= total; i++) body += eventText(i);
      if (drops < 5 && from < total - 200) {
        drops++;
        const cutAt = Math.floor(body.length * (0.1 + Math.random() * 0.3)); // a random byte offset
        res.write(body.slice(0, cutAt));
        setTimeout(() => res.destroy(), 100);
        return;
      }
      res.write(body);
    });
    const topic = uniqueName('sse');
    const landed = await collect(brokers(), topic);
    const app = await startStreamIngest(brokers(), [
      {
        id: uniqueName('sse'),
        tenant: 't',
        paused: false,
        source: { http: { url: upstream.url, format: 'sse', headers: {} } },
        processors: [{ parseJson: true }],
        sink: { topic, headers: {} },
      },
    ]);
    try {
      await eventually(() => expect(new Set(landed.records.map((r) => r.headers['sse-id'])).size).toBe(total), {
        timeoutMs: 120_000,
        intervalMs: 500,
      });
      for (const record of landed.records) expect((JSON.parse(record.value) as { n: number }).n).toBe(Number(record.headers['sse-id']));
      expect(drops).toBe(5);
      expect(lastIds[0]).toBeUndefined();
      // Every reconnect resumed after an acknowledged event.
      for (const id of lastIds.slice(1)) expect(Number(id)).toBeGreaterThan(0);
      const duplicates = landed.records.length - total;
      process.stdout.write(`SSE: ${total} events, ${drops} drops, ${duplicates} duplicates\n`);
      expect(duplicates).toBeLessThanOrEqual(total * 0.01);
    } finally {
      await app.stop();
      await landed.stop();
      await upstream.close();
    }
  });
});
