import { InFlightWindow } from './in-flight-window';

describe('InFlightWindow', () => {
  it('is full at either limit and reopens at half of both', async () => {
    const window = new InFlightWindow({ maxRecords: 4, maxBytes: 1000 });
    for (let i = 0; i < 4; i++) window.add(10);
    expect(window.full).toBe(true);
    let opened = false;
    const waiting = window.whenOpen().then(() => (opened = true));
    window.release(10);
    await Promise.resolve();
    expect(opened).toBe(false); // 3 of 4: not yet half
    window.release(10);
    await waiting;
    expect(opened).toBe(true);
  });

  it('counts bytes: one big record fills it', () => {
    const window = new InFlightWindow({ maxRecords: 100, maxBytes: 1000 });
    window.add(1500);
    expect(window.full).toBe(true);
    window.release(1500);
    expect(window.full).toBe(false);
    expect(window.bytes).toBe(0);
  });

  it('whenOpen rejects when aborted', async () => {
    const window = new InFlightWindow({ maxRecords: 1, maxBytes: 10 });
    window.add(1);
    const abort = new AbortController();
    const waiting = window.whenOpen(abort.signal);
    abort.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });

  it('releases a batch at once and wakes a waiting source once', async () => {
    const window = new InFlightWindow({ maxRecords: 10, maxBytes: 1000 });
    for (let i = 0; i < 10; i++) window.add(20);
    let wakes = 0;
    const waiting = window.whenOpen().then(() => wakes++);
    window.releaseMany(6, 120);
    await waiting;
    expect([window.records, window.bytes, wakes]).toEqual([4, 80, 1]);
  });
});
