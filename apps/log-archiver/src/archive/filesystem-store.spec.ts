import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeArchiveStoreContract } from '../../test/archive-store-contract';
import { FilesystemStore } from './filesystem-store';
import { ArchiveStoreError } from './archive-store';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'wharf-fs-store-'));
  roots.push(root);
  return root;
}

describeArchiveStoreContract('filesystem', async () => ({
  store: new FilesystemStore({ root: freshRoot() }),
  prefix: 'logs/ns/',
  partSize: 0,
}));

describe('FilesystemStore', () => {
  it('removes temporary files of interrupted writes, and only those', async () => {
    const root = freshRoot();
    const store = new FilesystemStore({ root });
    await store.put('p/ns/job/run-1/index-0/pod/main.log', Buffer.from('ok'));
    const dir = join(root, 'p/ns/job/run-1/index-0/pod');
    writeFileSync(join(dir, 'side.log.partial-123-abcd'), 'half');
    expect(await store.list('p/ns/job/run-1/')).toHaveLength(1);
    expect(await store.abortIncomplete('p/ns/job/run-1/')).toBe(1);
    expect(readdirSync(dir)).toEqual(['main.log']);
  });

  it('fails with ArchiveStoreError when the root is not writable', async () => {
    const root = freshRoot();
    writeFileSync(join(root, 'file'), 'not a directory');
    const store = new FilesystemStore({ root: join(root, 'file') });
    await expect(store.check()).rejects.toBeInstanceOf(ArchiveStoreError);
    await expect(store.put('a/b.log', Buffer.from('x'))).rejects.toBeInstanceOf(ArchiveStoreError);
  });

  it('gives file:// URIs', () => {
    const root = freshRoot();
    mkdirSync(root, { recursive: true });
    expect(new FilesystemStore({ root }).uri('a/b.log')).toBe(`file://${root}/a/b.log`);
  });
});
