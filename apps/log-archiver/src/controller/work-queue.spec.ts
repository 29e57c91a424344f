import { KeyedWorkQueue } from './work-queue';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedWorkQueue', () => {
  it('never runs the same key twice at once, and re-runs a key added while it ran', async () => {
    const gate = deferred();
    const runs: string[] = [];
    let concurrentA = 0;
    let maxConcurrentA = 0;
    const queue = new KeyedWorkQueue({
      concurrency: 4,
      handler: async (key) => {
        runs.push(key);
        if (key === 'a') {
          concurrentA++;
          maxConcurrentA = Math.max(maxConcurrentA, concurrentA);
          if (runs.length === 1) await gate.promise;
          concurrentA--;
        }
      },
    });
    queue.add('a');
    queue.add('a'); // deduplicated while active → marked dirty
    queue.add('b');
    await new Promise((r) => setImmediate(r));
    gate.resolve();
    await queue.idle();
    expect(maxConcurrentA).toBe(1);
    expect(runs.sort()).toEqual(['a', 'a', 'b']);
  });

  it('limits concurrency and deduplicates queued keys', async () => {
    let active = 0;
    let max = 0;
    const seen: string[] = [];
    const queue = new KeyedWorkQueue({
      concurrency: 2,
      handler: async (key) => {
        seen.push(key);
        active++;
        max = Math.max(max, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      },
    });
    for (const k of ['a', 'b', 'c', 'd', 'c', 'd']) queue.add(k);
    await queue.idle();
    expect(max).toBe(2);
    expect(seen).toHaveLength(4);
  });

  it('requeues after the delay a handler asks for; an add replaces the delay', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    let calls = 0;
    const queue = new KeyedWorkQueue({
      concurrency: 1,
      handler: async () => (++calls === 1 ? { requeueAfterMs: 5_000 } : undefined),
      setTimer: (fn, ms) => {
        timers.push({ fn, ms });
        return {};
      },
      clearTimer: () => undefined,
    });
    queue.add('k');
    await queue.idle();
    expect(timers.map((t) => t.ms)).toEqual([5_000]);
    expect(queue.size).toBe(1);
    queue.add('k');
    await queue.idle();
    expect(calls).toBe(2);
    expect(queue.size).toBe(0);
  });

  it('stop() waits for work in progress and takes no more', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const queue = new KeyedWorkQueue({ concurrency: 1, handler: async (k) => { seen.push(k); await gate.promise; } });
    queue.add('a');
    queue.add('b');
    const stopping = queue.stop();
    gate.resolve();
    await stopping;
    queue.add('c');
    expect(seen).toEqual(['a']);
  });
});
