import { schedulerConfigSchema } from './config';

const leader = (settings: Record<string, number>) => schedulerConfigSchema.shape.leader.safeParse(settings);

describe('scheduler config: leader election timings', () => {
  it('defaults to a 3 s lease renewed every 0.5 s, given up after 2 s without a renewal', () => {
    const parsed = leader({});
    expect(parsed.success && { lease: parsed.data.leaseDurationMs, renew: parsed.data.renewDeadlineMs, retry: parsed.data.retryPeriodMs }).toEqual({ lease: 3_000, renew: 2_000, retry: 500 });
  });

  it.each([
    [{ leaseDurationMs: 3_500 }, 'leaseDurationMs', 'whole seconds'],
    [{ leaseDurationMs: 3_000, renewDeadlineMs: 3_000 }, 'renewDeadlineMs', 'below leaseDurationMs'],
    [{ renewDeadlineMs: 1_000, retryPeriodMs: 900 }, 'retryPeriodMs', 'below renewDeadlineMs'],
  ])('refuses %j, naming %s', (settings, field, words) => {
    const parsed = leader(settings);
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    expect(issue?.path).toEqual([field]);
    expect(issue?.message).toContain(words);
  });
});
