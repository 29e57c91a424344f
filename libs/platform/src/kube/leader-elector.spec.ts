import type { V1Lease } from '@kubernetes/client-node';
import pino from 'pino';
import { AlreadyExistsError, NotFoundError, UnavailableError } from '../errors';
import { FakeClock } from '@wharf/testing';
import type { JsonPatchOp } from './kube-client';
import { ConflictError } from './kube-errors';
import { LeaderElector, type LeaderElectorOptions } from './leader-elector';

/** One Lease in memory, with the apiserver's resourceVersion checks. */
class FakeLeases {
  lease: V1Lease | undefined;
  version = 0;
  down = false;

  async get(): Promise<V1Lease> {
    if (this.down) throw new UnavailableError('apiserver down');
    if (!this.lease) throw new NotFoundError('no lease');
    return JSON.parse(JSON.stringify(this.lease)) as V1Lease;
  }

  async create(_kind: 'lease', lease: V1Lease): Promise<V1Lease> {
    if (this.down) throw new UnavailableError('apiserver down');
    if (this.lease) throw new AlreadyExistsError('exists');
    this.lease = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.version) },
    };
    return this.get();
  }

  async jsonPatch(
    _kind: 'lease',
    _ref: unknown,
    ops: JsonPatchOp[],
    options: { resourceVersion?: string },
  ): Promise<V1Lease> {
    if (this.down) throw new UnavailableError('apiserver down');
    if (!this.lease) throw new NotFoundError('no lease');
    if (options.resourceVersion !== this.lease.metadata?.resourceVersion)
      throw new ConflictError('changed');
    for (const op of ops) {
      if (op.op === 'replace' && op.path === '/spec')
        this.lease.spec = JSON.parse(JSON.stringify(op.value));
    }
    this.lease.metadata = { ...this.lease.metadata, resourceVersion: String(++this.version) };
    return this.get();
  }

  holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }
}

function elector(
  identity: string,
  leases: FakeLeases,
  clock: FakeClock,
  extra: Partial<LeaderElectorOptions> = {},
): { elector: LeaderElector; log: string[] } {
  const log: string[] = [];
  const instance = new LeaderElector({
    kube: leases as unknown as LeaderElectorOptions['kube'],
    logger: pino({ level: 'silent' }),
    namespace: 'wharf',
    leaseName: 'scheduler',
    identity,
    clock,
    random: () => 0,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    onStartedLeading: () => log.push('started'),
    onStoppedLeading: () => log.push('stopped'),
    ...extra,
  });
  return { elector: instance, log };
}

/** 'a' took the lease at 0 and crashed (no release); 'b' has been standing by since 0. */
async function abandonedLease(
  standby: Partial<LeaderElectorOptions> = {},
): Promise<{ clock: FakeClock; leases: FakeLeases; b: ReturnType<typeof elector> }> {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = elector('a', leases, clock, { releaseOnStop: false });
  const b = elector('b', leases, clock, standby);
  await a.elector.start();
  await clock.advance(0);
  await b.elector.start();
  await clock.advance(0);
  await a.elector.stop();
  return { clock, leases, b };
}

describe('LeaderElector', () => {
  it('lets exactly one of two candidates lead', async () => {
    const clock = new FakeClock();
    const leases = new FakeLeases();
    const a = elector('a', leases, clock);
    const b = elector('b', leases, clock);
    await a.elector.start();
    await clock.advance(0);
    await b.elector.start();
    await clock.advance(10_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.leader()).toBe('a');
    expect(a.log).toEqual(['started']);
    await b.elector.stop();
    await a.elector.stop();
  });

  it('hands over at once when the leader releases the lease on stop', async () => {
    const clock = new FakeClock();
    const leases = new FakeLeases();
    const a = elector('a', leases, clock);
    const b = elector('b', leases, clock);
    await a.elector.start();
    await clock.advance(0);
    await b.elector.start();
    await clock.advance(4_000);
    await a.elector.stop();
    expect(a.log).toEqual(['started', 'stopped']);
    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(leases.holder()).toBe('b');
    expect(leases.lease?.spec?.leaseTransitions).toBe(1);
    await b.elector.stop();
  });

  it('takes over an abandoned lease only after it expired by the local clock', async () => {
    const { clock, b } = await abandonedLease();
    await clock.advance(14_000);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(4_000);
    expect(b.elector.isLeader()).toBe(true);
    await b.elector.stop();
  });

  it('tries again the moment the lease it saw runs out, not at its next retry', async () => {
    const { clock, leases, b } = await abandonedLease({ retryPeriodMs: 4_000 });
    // b saw the lease change at 0: it tries at 4, 8, 12 s, then at 15 s, when it expires.
    await clock.advance(14_999);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(1);
    expect(b.elector.isLeader()).toBe(true);
    expect(leases.holder()).toBe('b');
    await b.elector.stop();
  });

  it('steps down when it cannot renew within the renew deadline', async () => {
    const clock = new FakeClock();
    const leases = new FakeLeases();
    const a = elector('a', leases, clock);
    await a.elector.start();
    await clock.advance(0);
    expect(a.elector.isLeader()).toBe(true);
    leases.down = true;
    await clock.advance(8_000);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(['started', 'stopped']);
    leases.down = false;
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(true); // still its own lease: renews and leads again
    await a.elector.stop();
  });
});
