import { InvalidArgumentError } from '@wharf/platform';
import { pageOf } from './follow';

describe('pageOf', () => {
  const items = [
    { id: 'c', ms: 2 },
    { id: 'a', ms: 1 },
    { id: 'b', ms: 2 },
    { id: 'd', ms: 3 },
  ];
  const key = (x: { id: string; ms: number }) => ({ createdMs: x.ms, id: x.id });

  it('pages by creation time then id, every item once', () => {
    const seen: string[] = [];
    let pageToken = '';
    do {
      const { page, nextPageToken } = pageOf(items, key, { pageSize: 3, pageToken });
      seen.push(...page.map((x) => x.id));
      pageToken = nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(pageOf(items, key, { pageSize: 0, pageToken: '' }).nextPageToken).toBe('');
  });

  it('refuses a token it did not make, and a negative page size', () => {
    expect(() => pageOf(items, key, { pageSize: 2, pageToken: 'bm9wZQ' })).toThrow(InvalidArgumentError);
    expect(() => pageOf(items, key, { pageSize: -1, pageToken: '' })).toThrow(InvalidArgumentError);
  });
});
