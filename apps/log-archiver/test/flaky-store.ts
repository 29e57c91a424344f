import type { Readable } from 'node:stream';
import { ArchiveStoreError, type ArchiveStore, type PutOptions, type StoredObject } from '../src/archive/archive-store';

/** Wraps a store: `down` makes every call fail like an unreachable store; counts puts. */
export class FlakyStore implements ArchiveStore {
  down = false;
  /** Fail the put whose key matches (once). */
  failPutOn: RegExp | undefined;
  readonly puts: string[] = [];

  constructor(private readonly inner: ArchiveStore) {}

  get kind() {
    return this.inner.kind;
  }
  uri(key: string): string {
    return this.inner.uri(key);
  }
  async put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<StoredObject> {
    this.guard();
    if (this.failPutOn?.test(key)) {
      this.failPutOn = undefined;
      throw new ArchiveStoreError('connection reset', 'StoreUnavailable');
    }
    const stored = await this.inner.put(key, body, options);
    this.puts.push(key);
    return stored;
  }
  async stat(key: string) {
    this.guard();
    return this.inner.stat(key);
  }
  async read(key: string) {
    this.guard();
    return this.inner.read(key);
  }
  async list(prefix: string) {
    this.guard();
    return this.inner.list(prefix);
  }
  async abortIncomplete(prefix: string) {
    this.guard();
    return this.inner.abortIncomplete(prefix);
  }
  async check() {
    this.guard();
    return this.inner.check();
  }
  private guard(): void {
    if (this.down) throw new ArchiveStoreError('connect ECONNREFUSED', 'StoreUnavailable');
  }
}
