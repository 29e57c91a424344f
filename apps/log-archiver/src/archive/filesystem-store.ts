import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { isNotFound, isWharfError, NotFoundError } from '@wharf/platform';
import { ArchiveStoreError, assertSafeKey, type ArchiveStore, type PutOptions, type StoredObject } from './archive-store';

export interface FilesystemStoreOptions {
  /** Directory holding the objects; created on first use. */
  readonly root: string;
  /** fsync each object and its directory before `put` resolves. @default true */
  readonly fsync?: boolean;
}

/** Suffix of files being written; never a complete object. */
const PARTIAL = '.partial-';

/**
 * The embedded archive store: one file per key under `root`. A write goes to a temporary file
 * next to its target, is fsynced, and is renamed over the target, so readers see the old file
 * or the complete new one. Verification: the renamed file's size equals the bytes written.
 */
export class FilesystemStore implements ArchiveStore {
  readonly kind = 'filesystem' as const;
  private readonly root: string;

  constructor(private readonly options: FilesystemStoreOptions) {
    this.root = resolve(options.root);
  }

  uri(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<StoredObject> {
    const target = this.pathOf(key);
    const temp = `${target}${PARTIAL}${process.pid}-${randomBytes(4).toString('hex')}`;
    let bytes = 0;
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    // Listen at once: a body failing while the directory is made must fail this put, not
    // surface as an unhandled 'error' event.
    let early: unknown;
    const onEarlyError = (error: unknown): void => {
      early ??= error;
    };
    source.on('error', onEarlyError);
    try {
      await mkdir(dirname(target), { recursive: true });
      if (early !== undefined) throw early;
      source.on('data', (chunk: Buffer) => (bytes += chunk.length));
      await pipeline(source, createWriteStream(temp, { flags: 'w' }), { signal: options.signal });
      if (this.options.fsync ?? true) await fsyncPath(temp);
      await rename(temp, target);
      if (this.options.fsync ?? true) await fsyncPath(dirname(target));
      const written = await stat(target);
      if (written.size !== bytes) {
        throw new ArchiveStoreError('archived file has the wrong size', 'VerifyFailed', {
          context: { key, expected: bytes, actual: written.size },
        });
      }
      return { key, bytes };
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      // Already classified: our own verification failure, or the body's (the log source's) error.
      if (isWharfError(error) || options.signal?.aborted) throw error;
      throw new ArchiveStoreError('cannot write to the filesystem archive', 'StoreUnavailable', {
        cause: error,
        context: { key },
      });
    } finally {
      source.off('error', onEarlyError);
    }
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, bytes: s.size } : undefined;
    } catch (error) {
      if (isNoEntry(error)) return undefined;
      throw new ArchiveStoreError('cannot stat in the filesystem archive', 'StoreUnavailable', { cause: error, context: { key } });
    }
  }

  async read(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    const handle = await open(path, 'r').catch((error: unknown) => {
      if (isNoEntry(error)) throw new NotFoundError('no such archived object', { context: { key } });
      throw new ArchiveStoreError('cannot read from the filesystem archive', 'StoreUnavailable', { cause: error, context: { key } });
    });
    // The stream owns the handle and closes it at the end.
    return handle.createReadStream();
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    for (const file of await this.walk(this.searchDir(prefix))) {
      const key = relative(this.root, file).split(sep).join('/');
      if (!key.startsWith(prefix) || key.includes(PARTIAL)) continue;
      const s = await stat(file);
      objects.push({ key, bytes: s.size });
    }
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async abortIncomplete(prefix: string): Promise<number> {
    let removed = 0;
    for (const file of await this.walk(this.searchDir(prefix))) {
      const key = relative(this.root, file).split(sep).join('/');
      if (key.startsWith(prefix) && key.includes(PARTIAL)) {
        await rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      const probe = join(this.root, `.probe${PARTIAL}${process.pid}`);
      const handle = await open(probe, 'w');
      await handle.close();
      await rm(probe, { force: true });
    } catch (error) {
      throw new ArchiveStoreError('the filesystem archive is not writable', 'StoreUnavailable', { cause: error });
    }
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** The deepest directory that contains every key starting with `prefix`. */
  private searchDir(prefix: string): string {
    const cut = prefix.lastIndexOf('/');
    return cut < 0 ? this.root : join(this.root, ...prefix.slice(0, cut).split('/'));
  }

  private async walk(dir: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isNoEntry(error)) return [];
      throw new ArchiveStoreError('cannot list the filesystem archive', 'StoreUnavailable', { cause: error });
    }
    const files: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) files.push(...(await this.walk(path)));
      else if (entry.isFile()) files.push(path);
    }
    return files;
  }
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNoEntry(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT' || isNotFound(error);
}
