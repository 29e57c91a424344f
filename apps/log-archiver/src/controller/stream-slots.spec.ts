import { StreamSlots } from './stream-slots';

describe('StreamSlots', () => {
  it('runs at most `limit` at once and releases on failure', async () => {
    const slots = new StreamSlots(2);
    let active = 0;
    let max = 0;
    const task = async (fail: boolean) => {
      active++;
      max = Math.max(max, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (fail) throw new Error('boom');
    };
    const results = await Promise.allSettled([true, false, false, true, false].map((f) => slots.run(() => task(f))));
    expect(max).toBe(2);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2);
    await expect(slots.run(async () => 'ok')).resolves.toBe('ok');
  });
});
