import { decideOnFailure, type RetryPolicyConfig } from './archive-retry-policy';

const config: RetryPolicyConfig = { minDelayMs: 1_000, maxDelayMs: 60_000, deadlineMs: 3_600_000, onDeadline: 'hold' };
const fresh = { attempts: 1, reportedRetrying: false, reportedDeadline: false };
const half = () => 0.5;

describe('decideOnFailure', () => {
  it('retries with exponential backoff, reporting the first failure only', () => {
    expect(decideOnFailure(fresh, 0, 1_000, config, half)).toEqual({ action: 'retry', delayMs: 1_000, report: true, pastDeadline: false });
    expect(decideOnFailure({ ...fresh, attempts: 4, reportedRetrying: true }, 0, 1_000, config, half)).toEqual({
      action: 'retry',
      delayMs: 8_000,
      report: false,
      pastDeadline: false,
    });
    expect(decideOnFailure({ ...fresh, attempts: 30, reportedRetrying: true }, 0, 1_000, config, half)).toMatchObject({ delayMs: 60_000 });
  });

  it('counts the deadline from when the Job became archivable (survives restarts)', () => {
    const since = 10_000_000;
    expect(decideOnFailure(fresh, since, since + 3_599_999, config, half)).toMatchObject({ pastDeadline: false });
    expect(decideOnFailure({ ...fresh, reportedRetrying: true }, since, since + 3_600_000, config, half)).toMatchObject({
      action: 'retry',
      pastDeadline: true,
      report: true,
    });
    expect(
      decideOnFailure({ attempts: 9, reportedRetrying: true, reportedDeadline: true }, since, since + 4_000_000, config, half),
    ).toMatchObject({ report: false });
  });

  it('releases after the deadline under policy "release"', () => {
    expect(decideOnFailure(fresh, 0, 3_600_000, { ...config, onDeadline: 'release' })).toEqual({ action: 'release' });
  });
});
