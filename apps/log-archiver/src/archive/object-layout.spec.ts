import { ObjectLayout } from './object-layout';

const run = { namespace: 'team-a', jobId: 'train-0123456789abcdef', run: 2 };

describe('ObjectLayout', () => {
  it('lays out logs and the manifest under <prefix>/<ns>/<job>/run-<n>/', () => {
    const layout = new ObjectLayout('/wharf/logs/');
    expect(layout.runPrefix(run)).toBe('wharf/logs/team-a/train-0123456789abcdef/run-2/');
    expect(layout.manifestKey(run)).toBe('wharf/logs/team-a/train-0123456789abcdef/run-2/manifest.json');
    expect(layout.logKey(run, { index: 3, pod: 'w-train-r2-abc-3-xyz', container: 'main', previous: false })).toBe(
      'wharf/logs/team-a/train-0123456789abcdef/run-2/index-3/w-train-r2-abc-3-xyz/main.log',
    );
    expect(layout.logKey(run, { index: 0, pod: 'p', container: 'init-data', previous: true })).toBe(
      'wharf/logs/team-a/train-0123456789abcdef/run-2/index-0/p/init-data.previous.log',
    );
  });

  it('works without a prefix', () => {
    expect(new ObjectLayout('').manifestKey(run)).toBe('team-a/train-0123456789abcdef/run-2/manifest.json');
  });

  it('refuses names that are not DNS names (no path tricks)', () => {
    const layout = new ObjectLayout('p');
    expect(() => layout.runPrefix({ ...run, jobId: '../x' })).toThrow(/not a DNS name/);
    expect(() => layout.logKey(run, { index: 0, pod: 'a/b', container: 'main', previous: false })).toThrow(/not a DNS name/);
  });
});
