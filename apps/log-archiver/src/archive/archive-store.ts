import type { Readable } from 'node:stream';
import { UnavailableError, type WharfErrorOptions } from '@wharf/platform';

/** What an archive store holds under one key. */
export interface StoredObject {
  readonly key: string;
  readonly bytes: number;
}

export interface PutOptions {
  /** @default 'text/plain; charset=utf-8' */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

/**
 * Where archived logs and manifests live. Implementations: {@link FilesystemStore} (the
 * embedded default for local use) and {@link S3Store}; both pass the same contract suite
 * (apps/log-archiver/test/archive-store-contract.ts).
 *
 * Contract:
 * - `put` streams with bounded memory, overwrites, and makes the object visible atomically:
 *   readers see the previous content or the complete new one, never a prefix. It resolves only
 *   once the object is durably stored *and verified* (size, and a content digest where the
 *   store exposes one), so a key the archiver wrote is never corrupt.
 * - Keys are `/`-separated relative paths of DNS-label-safe segments (see object-layout.ts).
 * - Every failure to reach or use the store is an {@link ArchiveStoreError} (retriable unless
 *   the store is not configured).
 */
export interface ArchiveStore {
  readonly kind: 'filesystem' | 's3' | 'unconfigured';
  /** Where a key lives, for observations and humans: `s3://bucket/key`, `file:///root/key`. */
  uri(key: string): string;
  /** Thrown: {@link ArchiveStoreError}. */
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<StoredObject>;
  /** Size of the object under `key`, or undefined when there is none. */
  stat(key: string): Promise<StoredObject | undefined>;
  /** The whole object. Thrown: NotFoundError when absent, {@link ArchiveStoreError}. */
  read(key: string): Promise<Readable>;
  /** Objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<StoredObject[]>;
  /**
   * Removes what interrupted writes left under `prefix` (temporary files, incomplete multipart
   * uploads). Never touches complete objects. Returns how many were removed.
   */
  abortIncomplete(prefix: string): Promise<number>;
  /** A cheap round trip proving the store is usable now (bucket exists, root writable). */
  check(): Promise<void>;
}

/** Thrown when the archive store cannot be reached or refuses an operation. */
export class ArchiveStoreError extends UnavailableError {
  override readonly name: string = 'ArchiveStoreError';
  constructor(
    message: string,
    /** A short, stable reason for observations and metrics: StoreUnavailable, VerifyFailed… */
    readonly reason: string,
    options: WharfErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** Thrown when the store is not configured; retrying helps only after a config change. */
export class StoreNotConfiguredError extends ArchiveStoreError {
  override readonly name: string = 'StoreNotConfiguredError';
}

export function isArchiveStoreError(error: unknown): error is ArchiveStoreError {
  return error instanceof ArchiveStoreError;
}

/** Key segments: no empty, `.` or `..` segment, no backslash, no leading slash. */
export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.includes('\\') || key.includes('\0')) {
    throw new TypeError(`unsafe archive key: ${JSON.stringify(key)}`);
  }
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new TypeError(`unsafe archive key: ${JSON.stringify(key)}`);
    }
  }
}
