import type { V1Lease } from '@kubernetes/client-node';
import { isAlreadyExists, isNotFound } from '../errors';
import type { Component } from '../lifecycle';
import type { Logger } from '../logger';
import { sleepOn, systemClock, type Clock } from '../clock';
import type { KubeClient } from './kube-client';
import { isConflict } from './kube-errors';

export interface LeaderElectorOptions {
  readonly kube: Pick<KubeClient, 'get' | 'create' | 'jsonPatch'>;
  readonly logger: Logger;
  readonly namespace: string;
  readonly leaseName: string;
  /** Unique per instance, e.g. the pod name. */
  readonly identity: string;
  /** How long a lease is valid after its last renewal. @default 15_000 */
  readonly leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down; below leaseDurationMs. @default 10_000 */
  readonly renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. @default 2_000 */
  readonly retryPeriodMs?: number;
  /** Give the lease up on stop, so a standby takes over at once. @default true */
  readonly releaseOnStop?: boolean;
  readonly clock?: Clock;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
  readonly onStartedLeading?: () => void;
  readonly onStoppedLeading?: () => void;
  /** Called when the observed holder changes ('' when nobody holds the lease). */
  readonly onNewLeader?: (identity: string) => void;
}

type Attempt = 'held' | 'other';

/**
 * A Date that serialises with microseconds, the format the apiserver requires for MicroTime
 * fields (client-node's V1MicroTime does the same; this copy keeps client-node's runtime, and
 * its ESM dependencies, out of this module's unit tests).
 */
class MicroTime extends Date {
  override toISOString(): string {
    return `${super.toISOString().slice(0, -1)}000Z`;
  }
}

/**
 * Leader election over a coordination.k8s.io/v1 Lease, the way client-go does it: every
 * retryPeriod the leader renews and the others check whether the lease expired. Every write
 * is checked against the resourceVersion that was read (JSON patch `test`), so of two
 * candidates only one wins. Expiry is judged by the local clock since the lease last
 * *changed*, never by the holder's timestamps, so clock skew between pods does not matter.
 *
 * A lease is not a fence: a paused leader may act until it notices (at most
 * leaseDurationMs after its last renewal, which {@link isLeader} enforces). Writes that must be
 * exclusive also need a fence downstream (e.g. a Kafka transactional id).
 */
export class LeaderElector implements Component {
  readonly name = 'leader-elector';
  private leading = false;
  private lastRenewal = 0;
  private observedVersion: string | undefined;
  private observedAt = 0;
  private observedHolder: string | undefined;
  /** When the lease another instance holds runs out, by our clock (set by an attempt that found it held). */
  private otherExpiresAt: number | undefined;
  private stopper: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly options: LeaderElectorOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger.child({
      component: this.name,
      lease: options.leaseName,
      identity: options.identity,
    });
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.stopper = new AbortController();
    this.loop = this.run(this.stopper.signal);
  }

  async stop(): Promise<void> {
    this.stopper?.abort();
    await this.loop;
    this.loop = undefined;
    if (this.leading && (this.options.releaseOnStop ?? true)) await this.release();
    this.stepDown('stopped');
  }

  /** True while this instance holds an unexpired lease it renewed itself. */
  isLeader(): boolean {
    return this.leading && this.clock.now() - this.lastRenewal < this.leaseDurationMs();
  }

  /** The holder last seen on the lease ('' for nobody), if any was seen yet. */
  leader(): string | undefined {
    return this.observedHolder;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { retryPeriodMs = 2_000, renewDeadlineMs = 10_000, random = Math.random } = this.options;
    while (!signal.aborted) {
      let attempt: Attempt | 'failed';
      try {
        attempt = await this.tryAcquireOrRenew();
      } catch (error) {
        attempt = 'failed';
        this.logger.warn({ err: error }, 'lease update failed');
      }
      if (signal.aborted) return;
      const now = this.clock.now();
      if (attempt === 'held') {
        this.lastRenewal = now;
        if (!this.leading) {
          this.leading = true;
          this.logger.info('became the leader');
          this.options.onStartedLeading?.();
        }
      } else if (
        this.leading &&
        (attempt === 'other' || now - this.lastRenewal >= renewDeadlineMs)
      ) {
        this.stepDown(
          attempt === 'other' ? 'another instance holds the lease' : 'could not renew in time',
        );
      }
      // Jitter keeps candidates that started together from colliding on every attempt. A
      // standby tries again the moment the holder's lease runs out, not up to a period later.
      let delay = this.leading ? retryPeriodMs : retryPeriodMs * (1 + random() * 0.2);
      if (attempt === 'other' && this.otherExpiresAt !== undefined) {
        delay = Math.min(delay, Math.max(0, this.otherExpiresAt - this.clock.now()));
      }
      try {
        await sleepOn(this.clock, delay, signal);
      } catch {
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { kube, namespace, leaseName: name, identity } = this.options;
    const now = this.clock.now();
    this.otherExpiresAt = undefined;
    let lease: V1Lease;
    try {
      lease = await kube.get('lease', { namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        this.observe(
          await kube.create('lease', { metadata: { namespace, name }, spec: this.specFor(now) }),
          now,
        );
        return 'held';
      } catch (createError) {
        if (isAlreadyExists(createError)) return 'other';
        throw createError;
      }
    }
    this.observe(lease, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const validMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== identity && now < this.observedAt + validMs) {
      this.otherExpiresAt = this.observedAt + validMs;
      return 'other';
    }
    const mine = holder === identity;
    const next = this.specFor(now, {
      acquireTime: mine ? spec.acquireTime : undefined,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
    });
    try {
      const updated = await kube.jsonPatch(
        'lease',
        { namespace, name },
        [{ op: 'replace', path: '/spec', value: next }],
        {
          resourceVersion: lease.metadata?.resourceVersion ?? '',
        },
      );
      this.observe(updated, now);
      return 'held';
    } catch (error) {
      if (isConflict(error)) return 'other';
      throw error;
    }
  }

  /** Gives the lease up (holder '' and a 1 s duration, as client-go does); best effort. */
  private async release(): Promise<void> {
    const { kube, namespace, leaseName: name } = this.options;
    try {
      const lease = await kube.get('lease', { namespace, name });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      const now = this.clock.now();
      const spec = { ...this.specFor(now), holderIdentity: '', leaseDurationSeconds: 1 };
      await kube.jsonPatch(
        'lease',
        { namespace, name },
        [{ op: 'replace', path: '/spec', value: spec }],
        {
          resourceVersion: lease.metadata?.resourceVersion ?? '',
        },
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'could not release the lease');
    }
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.logger.warn({ reason }, 'stopped being the leader');
    this.options.onStoppedLeading?.();
  }

  /** Records when the lease last changed, by our clock: the basis of expiry. */
  private observe(lease: V1Lease, now: number): void {
    const version = lease.metadata?.resourceVersion;
    if (version === this.observedVersion) return;
    this.observedVersion = version;
    this.observedAt = now;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      this.options.onNewLeader?.(holder);
    }
  }

  private specFor(
    now: number,
    previous: { acquireTime?: Date; leaseTransitions?: number } = {},
  ): NonNullable<V1Lease['spec']> {
    // Read leases carry times as strings at runtime (client-node does not parse MicroTime).
    const acquired =
      previous.acquireTime === undefined ? now : new Date(previous.acquireTime).getTime();
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs() / 1000),
      acquireTime: new MicroTime(Number.isNaN(acquired) ? now : acquired),
      renewTime: new MicroTime(now),
      leaseTransitions: previous.leaseTransitions ?? 0,
    };
  }

  private leaseDurationMs(): number {
    return this.options.leaseDurationMs ?? 15_000;
  }
}
