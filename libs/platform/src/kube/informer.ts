import { UnavailableError } from '../errors';
import type { Component } from '../lifecycle';
import type { Logger } from '../logger';
import { backoffDelay } from '../retry';
import { sleepOn, systemClock, type Clock } from '../clock';
import { isGone } from './kube-errors';

/** The part of a Kubernetes object the informer reads. */
export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export type WatchEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string };

/**
 * Where an informer gets objects from: the apiserver in production, a fake in unit tests.
 * `watch` resolves when the server ends the watch normally and rejects on errors — with a
 * GoneError (410) when `resourceVersion` is too old, whether that came as an HTTP status or
 * as an ERROR event.
 */
export interface ListWatchSource<T> {
  list(signal: AbortSignal): Promise<{ items: T[]; resourceVersion: string }>;
  watch(
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

export interface InformerHandlers<T> {
  add?(object: T): void;
  /** Also called by resync with `object === old`. */
  update?(object: T, old: T): void;
  /** `object` is the last state the informer saw. */
  delete?(object: T): void;
}

export interface InformerOptions<T> {
  readonly source: ListWatchSource<T>;
  readonly logger: Logger;
  /** @default 'informer' */
  readonly name?: string;
  readonly clock?: Clock;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
  /**
   * Restart the watch when nothing (no event, no bookmark, no server close) arrived for this
   * long: a connection can die silently. Keep it above the watch's server-side timeout.
   * @default 330_000
   */
  readonly stallTimeoutMs?: number;
  /** Re-emit every cached object as an update this often, so handlers stay level-triggered; 0 disables. @default 300_000 */
  readonly resyncPeriodMs?: number;
  /** Backoff between restarts after errors. @default { minDelayMs: 1_000, maxDelayMs: 30_000 } */
  readonly backoff?: { readonly minDelayMs?: number; readonly maxDelayMs?: number };
}

/** Thrown (internally) when the watchdog gave up on a silent watch. */
export class WatchStalledError extends UnavailableError {
  override readonly name: string = 'WatchStalledError';
}

export function objectKey(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/**
 * List + watch with a local cache, for one resource and selector. What client-node's
 * informer leaves to its user is done here:
 *
 * - any error restarts the informer after exponential backoff with jitter (capped); a list
 *   or an event resets the backoff;
 * - 410 Gone relists at once (once; a second 410 without progress backs off), emitting the
 *   differences to the cache as add/update/delete;
 * - a watchdog restarts a watch that delivered nothing for `stallTimeoutMs`;
 * - a normal server close re-watches from the last resourceVersion;
 * - a periodic resync re-emits every cached object as an update.
 *
 * States: stopped → listing → watching → (error → backing off) → listing|watching … → stopped.
 */
export class Informer<T extends KubeObject> implements Component {
  readonly name: string;
  private cache = new Map<string, T>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  private resourceVersion: string | undefined;
  private failures = 0;
  private goneWithoutProgress = false;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private stopper: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private cancelResync: (() => void) | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly options: InformerOptions<T>) {
    this.name = options.name ?? 'informer';
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger.child({ component: this.name });
  }

  /** Adds handlers; returns a function that removes them. */
  subscribe(handlers: InformerHandlers<T>): () => void {
    this.handlers.add(handlers);
    return () => this.handlers.delete(handlers);
  }

  /** Starts listing and watching in the background; see {@link waitForSync} to wait for the cache. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopper = new AbortController();
    this.loop = this.run(this.stopper.signal);
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.stopper?.abort(new UnavailableError('informer stopped'));
    this.cancelResync?.();
    await this.loop;
    this.loop = undefined;
  }

  ready(): boolean {
    return this.synced;
  }

  /** True once the first list has filled the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has filled the cache. */
  waitForSync(): Promise<void> {
    return this.synced
      ? Promise.resolve()
      : new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === undefined) await this.relist(signal);
        await this.watchOnce(this.resourceVersion ?? '', signal);
      } catch (error) {
        if (signal.aborted) return;
        if (isGone(error)) {
          this.resourceVersion = undefined;
          if (!this.goneWithoutProgress) {
            this.goneWithoutProgress = true;
            this.logger.info('watch expired (410 Gone); relisting');
            continue;
          }
        }
        this.failures++;
        const { minDelayMs = 1_000, maxDelayMs = 30_000 } = this.options.backoff ?? {};
        const delayMs = backoffDelay(this.failures, {
          minDelayMs,
          maxDelayMs,
          random: this.options.random,
        });
        this.logger.warn(
          { err: error, attempt: this.failures, delayMs },
          'informer failed; restarting after backoff',
        );
        try {
          await sleepOn(this.clock, delayMs, signal);
        } catch {
          return;
        }
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.options.source.list(signal);
    if (signal.aborted) return;
    const previous = this.cache;
    this.cache = new Map(items.map((item) => [objectKey(item), item]));
    this.resourceVersion = resourceVersion;
    this.failures = 0;
    for (const [key, object] of this.cache) {
      const old = previous.get(key);
      if (!old) this.emit('add', object);
      else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion)
        this.emit('update', object, old);
    }
    for (const [key, old] of previous) if (!this.cache.has(key)) this.emit('delete', old);
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  /** One watch; resolves when the server ends it, throws on error, stall or stop. */
  private async watchOnce(resourceVersion: string, stop: AbortSignal): Promise<void> {
    const watch = new AbortController();
    const onStop = (): void => watch.abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    const stallTimeoutMs = this.options.stallTimeoutMs ?? 330_000;
    let cancelWatchdog = (): void => undefined;
    const armWatchdog = (): void => {
      cancelWatchdog();
      cancelWatchdog = this.clock.setTimer(
        () => watch.abort(new WatchStalledError(`no watch event for ${stallTimeoutMs} ms`)),
        stallTimeoutMs,
      );
    };
    // Settles on abort even if the source ignores the signal (a hung connection).
    const aborted = new Promise<never>((_, reject) =>
      watch.signal.addEventListener('abort', () => reject(watch.signal.reason), { once: true }),
    );
    aborted.catch(() => undefined);
    armWatchdog();
    try {
      await Promise.race([
        this.options.source.watch(
          resourceVersion,
          (event) => {
            if (watch.signal.aborted) return;
            armWatchdog();
            this.failures = 0;
            this.goneWithoutProgress = false;
            this.apply(event);
          },
          watch.signal,
        ),
        aborted,
      ]);
    } finally {
      cancelWatchdog();
      stop.removeEventListener('abort', onStop);
      watch.abort(); // ends the source's watch when it ended by itself or threw
    }
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'BOOKMARK') {
      this.resourceVersion = event.resourceVersion;
      return;
    }
    const { object } = event;
    const key = objectKey(object);
    const old = this.cache.get(key);
    if (event.type === 'DELETED') {
      this.cache.delete(key);
      this.emit('delete', object);
    } else {
      this.cache.set(key, object);
      if (old) this.emit('update', object, old);
      else this.emit('add', object);
    }
    this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
  }

  private scheduleResync(): void {
    const period = this.options.resyncPeriodMs ?? 300_000;
    if (period <= 0) return;
    this.cancelResync = this.clock.setTimer(() => {
      if (this.synced)
        for (const object of this.cache.values()) this.emit('update', object, object);
      this.scheduleResync();
    }, period);
  }

  private emit(event: 'add' | 'delete', object: T): void;
  private emit(event: 'update', object: T, old: T): void;
  private emit(event: 'add' | 'update' | 'delete', object: T, old?: T): void {
    for (const handlers of this.handlers) {
      try {
        if (event === 'add') handlers.add?.(object);
        else if (event === 'delete') handlers.delete?.(object);
        else handlers.update?.(object, old ?? object);
      } catch (error) {
        this.logger.error(
          { err: error, event, object: objectKey(object) },
          'informer handler failed',
        );
      }
    }
  }
}
