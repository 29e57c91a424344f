import { PendingOrder } from './pending-order';
import { comparePending, type PendingJob } from './queue-admission';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

let seq = 0;
const job = (jobId: string, priority: number, createdAtMs: number): PendingJob => ({ jobId, priority, createdAtMs, seq: seq++, demand: { cpu: 1, memory: 0, gpu: 0 } });
const ids = (jobs: Iterable<PendingJob>) => [...jobs].map((j) => j.jobId);
const sorted = (order: PendingOrder) => ids([...order.values()].sort(comparePending));
const ordered = (order: PendingOrder): string[] => {
  const out: PendingJob[] = [];
  const it = order.ordered();
  for (let next = it.next(); !next.done; next = it.next()) out.push(next.value);
  return ids(out);
};

describe('PendingOrder', () => {
  it('yields waiting jobs by priority, then submit time, then submit order', () => {
    const order = PendingOrder.of([job('late', 0, 30), job('early', 0, 10), job('urgent', 5, 90), job('same-ms-2nd', 0, 10), job('low', -1, 1)]);
    expect(ordered(order)).toEqual(['urgent', 'early', 'same-ms-2nd', 'late', 'low']);
    expect(order.size).toBe(5);
    expect(order.get('late')?.createdAtMs).toBe(30);
  });

  it('stays in order through adds, deletes, replacements and rebuilds', () => {
    const next = random(7);
    const order = new PendingOrder();
    let live = 0;
    for (let step = 0; step < 6_000; step++) {
      const r = next();
      const id = `j${Math.floor(next() * 3_000)}`;
      if (r < 0.5) order.add(job(id, Math.floor(next() * 4), Math.floor(next() * 1_000)));
      else order.delete(id);
      if (step % 500 === 0) expect(ordered(order)).toEqual(sorted(order));
      live = order.size;
    }
    expect(ordered(order)).toEqual(sorted(order));
    // Delete nearly all: the heap is rebuilt without the removed jobs, and the order holds.
    for (const j of [...order.values()].slice(0, live - 3)) order.delete(j.jobId);
    expect(order.size).toBe(3);
    expect(ordered(order)).toEqual(sorted(order));
  });

  it('reads only as far as asked, and skips jobs removed at the head', () => {
    const order = PendingOrder.of(Array.from({ length: 10_000 }, (_, i) => job(`j${i}`, 0, i)));
    order.delete('j0');
    order.delete('j2');
    order.add(job('j1', 0, 50_000)); // replaced: now behind the others
    const it = order.ordered();
    expect([it.next().value?.jobId, it.next().value?.jobId, it.next().value?.jobId]).toEqual(['j3', 'j4', 'j5']);
    expect(ordered(order).at(-1)).toBe('j1');
  });
});
