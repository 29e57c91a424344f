import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { NotFoundError } from '@wharf/platform';
import type { ArchiveStore } from '../src/archive/archive-store';
import { LogReadError } from '../src/kube/kube-ports';

/** A body that serves `first`, then fails with `error` when read again: mid-stream, every time. */
function failingAfterFirstChunk(first: Buffer, error: Error): Readable {
  let served = false;
  return new Readable({
    read() {
      if (served) this.destroy(error);
      else {
        served = true;
        this.push(first);
      }
    },
  });
}

/**
 * The one contract every archive store passes: run against the filesystem store in unit tests
 * (filesystem-store.spec.ts) and against the real S3 server in s3-store.int.spec.ts.
 */
export interface StoreUnderTest {
  readonly store: ArchiveStore;
  /** A fresh key prefix (ends with `/`), unique per test. */
  readonly prefix: string;
  /** Bytes above which the store writes in several parts (S3 multipart); 0 if n/a. */
  readonly partSize: number;
}

export function describeArchiveStoreContract(name: string, setup: () => Promise<StoreUnderTest>): void {
  describe(`ArchiveStore contract: ${name}`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await setup();
    });

    const readAll = async (key: string): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      for await (const chunk of await t.store.read(key)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };

    it('stores a stream and reads back the same bytes', async () => {
      const data = Buffer.from('line one\nline two\npartial', 'utf8');
      const stored = await t.store.put(`${t.prefix}a/b/main.log`, Readable.from([data.subarray(0, 5), data.subarray(5)]));
      expect(stored).toEqual({ key: `${t.prefix}a/b/main.log`, bytes: data.length });
      expect(await readAll(`${t.prefix}a/b/main.log`)).toEqual(data);
      expect(await t.store.stat(`${t.prefix}a/b/main.log`)).toEqual({ key: `${t.prefix}a/b/main.log`, bytes: data.length });
      expect(t.store.uri(`${t.prefix}a/b/main.log`)).toContain(`${t.prefix}a/b/main.log`);
    });

    it('stores a buffer and an empty stream', async () => {
      await t.store.put(`${t.prefix}buf.json`, Buffer.from('{"a":1}'), { contentType: 'application/json' });
      await t.store.put(`${t.prefix}empty.log`, Readable.from([]));
      expect((await readAll(`${t.prefix}buf.json`)).toString()).toBe('{"a":1}');
      expect(await t.store.stat(`${t.prefix}empty.log`)).toEqual({ key: `${t.prefix}empty.log`, bytes: 0 });
      expect(await readAll(`${t.prefix}empty.log`)).toEqual(Buffer.alloc(0));
    });

    it('streams a body larger than several parts byte for byte', async () => {
      const size = Math.max(3 * t.partSize + 12_345, 2_000_000);
      const data = randomBytes(size);
      // Odd chunk sizes so part boundaries fall inside chunks.
      const chunks: Buffer[] = [];
      for (let at = 0; at < size; at += 65_537) chunks.push(data.subarray(at, Math.min(size, at + 65_537)));
      const stored = await t.store.put(`${t.prefix}big.log`, Readable.from(chunks));
      expect(stored.bytes).toBe(size);
      const back = await readAll(`${t.prefix}big.log`);
      expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    });

    it('stores a body of exactly two part sizes', async () => {
      if (t.partSize === 0) return;
      const data = randomBytes(t.partSize * 2);
      // 64 KiB chunks, as a log stream delivers them.
      const chunks: Buffer[] = [];
      for (let at = 0; at < data.length; at += 65_536) chunks.push(data.subarray(at, at + 65_536));
      await t.store.put(`${t.prefix}exact.log`, Readable.from(chunks));
      expect(await readAll(`${t.prefix}exact.log`)).toEqual(data);
    });

    it('overwrites: a second put replaces the object', async () => {
      await t.store.put(`${t.prefix}o.log`, Buffer.from('first version, longer'));
      await t.store.put(`${t.prefix}o.log`, Buffer.from('second'));
      expect((await readAll(`${t.prefix}o.log`)).toString()).toBe('second');
      expect(await t.store.list(t.prefix)).toEqual([{ key: `${t.prefix}o.log`, bytes: 6 }]);
    });

    it('a body that fails mid-stream rejects with its own error and leaves no object', async () => {
      const failure = new LogReadError('pod vanished', 'PodGone', true);
      const body = failingAfterFirstChunk(randomBytes(Math.max(t.partSize + 1024, 100_000)), failure);
      await expect(t.store.put(`${t.prefix}broken.log`, body)).rejects.toBe(failure);
      expect(await t.store.stat(`${t.prefix}broken.log`)).toBeUndefined();
      expect(await t.store.list(t.prefix)).toEqual([]);
    });

    it('a failed overwrite keeps the previous complete object', async () => {
      await t.store.put(`${t.prefix}keep.log`, Buffer.from('complete'));
      const body = failingAfterFirstChunk(Buffer.from('partial new content'), new LogReadError('stream cut', 'LogUnavailable', false));
      await expect(t.store.put(`${t.prefix}keep.log`, body)).rejects.toBeInstanceOf(LogReadError);
      expect((await readAll(`${t.prefix}keep.log`)).toString()).toBe('complete');
    });

    it('an aborted put leaves nothing visible; abortIncomplete cleans what it left', async () => {
      const controller = new AbortController();
      const body = new Readable({ read: () => undefined });
      body.push(randomBytes(Math.max(t.partSize + 1024, 100_000)));
      const putting = t.store.put(`${t.prefix}aborted.log`, body, { signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      await expect(putting).rejects.toBeDefined();
      expect(await t.store.stat(`${t.prefix}aborted.log`)).toBeUndefined();
      await expect(t.store.abortIncomplete(t.prefix)).resolves.toBeGreaterThanOrEqual(0);
      expect(await t.store.list(t.prefix)).toEqual([]);
    });

    it('lists objects under a prefix, sorted, and nothing else', async () => {
      await t.store.put(`${t.prefix}x/run-1/index-1/p/main.log`, Buffer.from('1'));
      await t.store.put(`${t.prefix}x/run-1/index-0/p/main.log`, Buffer.from('22'));
      await t.store.put(`${t.prefix}x/run-10/manifest.json`, Buffer.from('333'));
      expect(await t.store.list(`${t.prefix}x/run-1/`)).toEqual([
        { key: `${t.prefix}x/run-1/index-0/p/main.log`, bytes: 2 },
        { key: `${t.prefix}x/run-1/index-1/p/main.log`, bytes: 1 },
      ]);
      expect(await t.store.list(`${t.prefix}x/`)).toHaveLength(3);
      expect(await t.store.list(`${t.prefix}nothing/`)).toEqual([]);
    });

    it('reports absent objects: stat undefined, read NotFoundError', async () => {
      expect(await t.store.stat(`${t.prefix}missing.log`)).toBeUndefined();
      await expect(t.store.read(`${t.prefix}missing.log`)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses unsafe keys', async () => {
      await expect(t.store.put('../escape.log', Buffer.from('x'))).rejects.toThrow(/unsafe archive key/);
      await expect(t.store.put(`${t.prefix}a//b.log`, Buffer.from('x'))).rejects.toThrow(/unsafe archive key/);
    });

    it('check() passes on a usable store', async () => {
      await expect(t.store.check()).resolves.toBeUndefined();
    });
  });
}
