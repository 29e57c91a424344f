/**
 * Where a kafkajs producer's wall time goes, seen from inside its process without touching its
 * code (preloaded: `node --require tools/bench/stream-ingest/produce-probe.cjs …`; throughput-bench
 * --probe preloads it into stream-ingest and into the raw kafkajs loop). At exit it writes one JSON
 * object to $WHARF_PROBE_OUT:
 *
 * - per Produce request (Kafka API key 0), read off the broker sockets: `requestMs` from the
 *   request's write to the last byte of its response reaching JavaScript (broker time, loopback,
 *   and any time the response waited for the event loop), and `turnaroundMs` from a response to
 *   the next Produce request's write (settling, taking and encoding the next batch, and whatever
 *   else ran on the loop in between);
 * - event-loop delay (perf_hooks.monitorEventLoopDelay) and GC pauses (count and total ms, by kind);
 * - the process's CPU over the same span.
 *
 * Medians and 90th percentiles over the requests after the first `skip` (default 20: connection
 * set-up and warm-up).
 */
'use strict';
const net = require('node:net');
const { writeFileSync } = require('node:fs');
const { monitorEventLoopDelay, PerformanceObserver, performance } = require('node:perf_hooks');

const out = process.env.WHARF_PROBE_OUT;
if (out) {
  const skip = Number(process.env.WHARF_PROBE_SKIP ?? 20);
  const produce = []; // { written, answered, bytes, records? }
  const open = new Map(); // correlationId → entry
  let lastAnswered = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const gc = { count: 0, ms: 0, byKind: {} };
  const kinds = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak-callbacks', 16: 'minor-mark-sweep' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
      const kind = kinds[e.detail?.kind ?? e.kind] ?? String(e.detail?.kind ?? e.kind);
      gc.byKind[kind] = (gc.byKind[kind] ?? 0) + e.duration;
    }
  }).observe({ entryTypes: ['gc'] });

  const isProduce = (buf) => buf.length >= 12 && buf.readInt16BE(4) === 0;
  const origWrite = net.Socket.prototype.write;
  net.Socket.prototype.write = function (chunk, ...rest) {
    if (this.__wharfKafka === undefined) this.__wharfKafka = looksLikeKafka(this);
    if (this.__wharfKafka && Buffer.isBuffer(chunk) && isProduce(chunk)) {
      const now = performance.now();
      const entry = { written: now, answered: 0, bytes: chunk.length, turnaround: lastAnswered ? now - lastAnswered : -1 };
      open.set(chunk.readInt32BE(8), entry);
      produce.push(entry);
      if (!this.__wharfProbed) probeResponses(this);
    }
    return origWrite.call(this, chunk, ...rest);
  };

  function looksLikeKafka(socket) {
    // kafkajs talks to the brokers named on the command line / env; the bench's brokers listen
    // on 127.0.0.1. An HTTP client socket writes "GET "/"POST", never a 4-byte size then API key.
    return typeof socket.remotePort === 'number' || socket.connecting;
  }

  function probeResponses(socket) {
    socket.__wharfProbed = true;
    let need = -1; // bytes left of the current response frame; -1: reading its header
    let header = Buffer.alloc(0);
    let current;
    socket.on('data', (data) => {
      let offset = 0;
      while (offset < data.length) {
        if (need < 0) {
          const take = Math.min(8 - header.length, data.length - offset);
          header = Buffer.concat([header, data.subarray(offset, offset + take)]);
          offset += take;
          if (header.length < 8) return;
          need = header.readInt32BE(0) - 4;
          current = open.get(header.readInt32BE(4));
          open.delete(header.readInt32BE(4));
          header = Buffer.alloc(0);
        }
        const take = Math.min(need, data.length - offset);
        need -= take;
        offset += take;
        if (need === 0) {
          if (current) {
            current.answered = performance.now();
            lastAnswered = current.answered;
          }
          need = -1;
          current = undefined;
        }
      }
    });
  }

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  process.on('exit', () => {
    loop.disable();
    const done = produce.filter((p) => p.answered > 0).slice(skip);
    const pct = (xs, q) => {
      if (xs.length === 0) return 0;
      const s = [...xs].sort((a, b) => a - b);
      return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 100) / 100;
    };
    const req = done.map((p) => p.answered - p.written);
    const turn = done.map((p) => p.turnaround).filter((t) => t >= 0);
    const span = done.length > 0 ? (done[done.length - 1].answered - done[0].written) : 0;
    const cpu = process.cpuUsage(cpu0);
    writeFileSync(
      out,
      JSON.stringify({
        produceRequests: done.length,
        spanMs: Math.round(span),
        requestMs: { p50: pct(req, 0.5), p90: pct(req, 0.9), sum: Math.round(req.reduce((a, b) => a + b, 0)) },
        turnaroundMs: { p50: pct(turn, 0.5), p90: pct(turn, 0.9), sum: Math.round(turn.reduce((a, b) => a + b, 0)) },
        requestBytes: pct(done.map((p) => p.bytes), 0.5),
        eventLoopDelayMs: { p50: loop.percentile(50) / 1e6, p90: loop.percentile(90) / 1e6, max: loop.max / 1e6, mean: Math.round(loop.mean / 1e4) / 100 },
        gc: { count: gc.count, ms: Math.round(gc.ms), byKindMs: Object.fromEntries(Object.entries(gc.byKind).map(([k, v]) => [k, Math.round(v)])) },
        processMs: Math.round(performance.now() - t0),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      }) + '\n',
    );
  });
}
