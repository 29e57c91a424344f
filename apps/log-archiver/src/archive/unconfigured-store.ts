import type { ArchiveStore, StoredObject } from './archive-store';
import { StoreNotConfiguredError } from './archive-store';

/**
 * Stands in when the configured store is incomplete (e.g. `archive.store=s3` without a bucket):
 * the service still runs, holds every finalizer, and reports ArchiveFailed with reason
 * `StoreNotConfigured` — pygeoapi-k8s-manager's version silently did nothing in that case.
 */
export class UnconfiguredStore implements ArchiveStore {
  readonly kind = 'unconfigured' as const;

  constructor(private readonly problems: readonly string[]) {}

  uri(key: string): string {
    return `unconfigured:///${key}`;
  }
  put(): Promise<StoredObject> {
    return Promise.reject(this.error());
  }
  stat(): Promise<StoredObject | undefined> {
    return Promise.reject(this.error());
  }
  read(): Promise<never> {
    return Promise.reject(this.error());
  }
  list(): Promise<StoredObject[]> {
    return Promise.reject(this.error());
  }
  abortIncomplete(): Promise<number> {
    return Promise.reject(this.error());
  }
  check(): Promise<void> {
    return Promise.reject(this.error());
  }

  private error(): StoreNotConfiguredError {
    return new StoreNotConfiguredError(`the archive store is not configured: ${this.problems.join('; ')}`, 'StoreNotConfigured');
  }
}
