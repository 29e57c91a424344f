import pino from 'pino';
import { UnavailableError } from '../errors';
import { FakeClock, flushPromises } from '@wharf/testing';
import { Informer, type KubeObject, type ListWatchSource, type WatchEvent } from './informer';
import { GoneError } from './kube-errors';

interface Obj extends KubeObject {
  metadata: { name: string; namespace: string; resourceVersion: string };
}

const obj = (name: string, resourceVersion: string): Obj => ({
  metadata: { name, namespace: 'ns', resourceVersion },
});

interface OpenWatch {
  readonly resourceVersion: string;
  readonly startedAt: number;
  readonly signal: AbortSignal;
  send(event: WatchEvent<Obj>): void;
  end(): void;
  fail(error: unknown): void;
}

/** A list/watch source the test drives by hand. */
class FakeSource implements ListWatchSource<Obj> {
  items: Obj[] = [];
  resourceVersion = '10';
  lists: number[] = [];
  listErrors: unknown[] = [];
  watches: OpenWatch[] = [];

  constructor(private readonly clock: FakeClock) {}

  async list(): Promise<{ items: Obj[]; resourceVersion: string }> {
    this.lists.push(this.clock.now());
    const error = this.listErrors.shift();
    if (error) throw error;
    return { items: [...this.items], resourceVersion: this.resourceVersion };
  }

  watch(
    resourceVersion: string,
    onEvent: (event: WatchEvent<Obj>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.watches.push({
        resourceVersion,
        startedAt: this.clock.now(),
        signal,
        send: onEvent,
        end: resolve,
        fail: reject,
      });
    });
  }

  get current(): OpenWatch {
    const watch = this.watches[this.watches.length - 1];
    if (!watch) throw new Error('no watch started');
    return watch;
  }
}

function setup(options: { stallTimeoutMs?: number; resyncPeriodMs?: number } = {}) {
  const clock = new FakeClock();
  const source = new FakeSource(clock);
  const events: string[] = [];
  const informer = new Informer<Obj>({
    source,
    clock,
    logger: pino({ level: 'silent' }),
    random: () => 0.5, // no jitter: delays are exactly 1 s, 2 s, 4 s…
    backoff: { minDelayMs: 1_000, maxDelayMs: 8_000 },
    stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
    resyncPeriodMs: options.resyncPeriodMs ?? 0,
  });
  informer.subscribe({
    add: (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    update: (o, old) =>
      events.push(
        `update ${o.metadata.name}@${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`,
      ),
    delete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  return { clock, source, events, informer };
}

describe('Informer', () => {
  it('lists, then watches from the list resourceVersion, keeping the cache and emitting events', async () => {
    const { clock, source, events, informer } = setup();
    source.items = [obj('a', '5')];
    await informer.start();
    await clock.advance(0);
    expect(informer.hasSynced()).toBe(true);
    expect(source.current.resourceVersion).toBe('10');

    source.current.send({ type: 'ADDED', object: obj('b', '11') });
    source.current.send({ type: 'MODIFIED', object: obj('a', '12') });
    source.current.send({ type: 'DELETED', object: obj('b', '13') });
    expect(events).toEqual(['add a@5', 'add b@11', 'update a@5->12', 'delete b']);
    expect(informer.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(informer.get('a', 'ns')?.metadata.resourceVersion).toBe('12');
    await informer.stop();
  });

  it('restarts the watch after a backoff when it fails, from the last resourceVersion', async () => {
    const { clock, source, informer } = setup();
    await informer.start();
    await clock.advance(0);
    source.current.send({ type: 'ADDED', object: obj('a', '20') });
    source.current.fail(new UnavailableError('connection reset'));
    await clock.advance(999);
    expect(source.watches).toHaveLength(1);
    await clock.advance(1);
    expect(source.watches).toHaveLength(2);
    expect(source.current.resourceVersion).toBe('20');
    expect(source.lists).toHaveLength(1); // no relist needed
    await informer.stop();
  });

  it('grows the delay with repeated errors, up to the cap', async () => {
    const { clock, source, informer } = setup();
    await informer.start();
    await clock.advance(0);
    const gaps: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = source.current.startedAt;
      source.current.fail(new UnavailableError('apiserver down'));
      await flushPromises();
      await clock.advance(clock.nextTimerIn() ?? 0);
      gaps.push(source.current.startedAt - before);
    }
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    await informer.stop();
  });

  it('resets the backoff once an event arrives', async () => {
    const { clock, source, informer } = setup();
    await informer.start();
    await clock.advance(0);
    for (let i = 0; i < 3; i++) {
      source.current.fail(new UnavailableError('flaky'));
      await flushPromises();
      await clock.advance(clock.nextTimerIn() ?? 0);
    }
    source.current.send({ type: 'ADDED', object: obj('a', '30') });
    const before = clock.now();
    source.current.fail(new UnavailableError('flaky again'));
    await flushPromises();
    await clock.advance(clock.nextTimerIn() ?? 0);
    expect(source.current.startedAt - before).toBe(1_000);
    await informer.stop();
  });

  it('backs off when the list fails, and lists again', async () => {
    const { clock, source, informer } = setup();
    source.listErrors = [new UnavailableError('down'), new UnavailableError('down')];
    await informer.start();
    await clock.advance(0);
    expect(informer.hasSynced()).toBe(false);
    await clock.advance(1_000);
    await clock.advance(2_000);
    const [first = 0] = source.lists;
    expect(source.lists.map((t) => t - first)).toEqual([0, 1_000, 3_000]);
    expect(informer.hasSynced()).toBe(true);
    await informer.stop();
  });

  it('relists at once on 410 Gone and emits what changed meanwhile', async () => {
    const { clock, source, events, informer } = setup();
    source.items = [obj('a', '5'), obj('b', '6')];
    await informer.start();
    await clock.advance(0);
    events.length = 0;

    source.items = [obj('a', '40'), obj('c', '41')];
    source.resourceVersion = '42';
    source.current.fail(new GoneError('too old resource version'));
    await clock.advance(0);
    expect(source.lists).toHaveLength(2);
    expect(events).toEqual(['update a@5->40', 'add c@41', 'delete b']);
    expect(source.current.resourceVersion).toBe('42');
    await informer.stop();
  });

  it('backs off when 410 repeats without progress', async () => {
    const { clock, source, informer } = setup();
    await informer.start();
    await clock.advance(0);
    source.current.fail(new GoneError('gone'));
    await clock.advance(0);
    source.current.fail(new GoneError('gone again'));
    await clock.advance(0);
    expect(source.lists).toHaveLength(2);
    await clock.advance(1_000);
    expect(source.lists).toHaveLength(3);
    await informer.stop();
  });

  it('restarts a watch that stalls silently, and a bookmark counts as life', async () => {
    const { clock, source, informer } = setup({ stallTimeoutMs: 60_000 });
    await informer.start();
    await clock.advance(0);
    const first = source.current;
    await clock.advance(50_000);
    first.send({ type: 'BOOKMARK', resourceVersion: '55' });
    await clock.advance(59_000);
    expect(first.signal.aborted).toBe(false);
    await clock.advance(1_000);
    expect(first.signal.aborted).toBe(true);
    await clock.advance(1_000); // backoff
    expect(source.watches).toHaveLength(2);
    expect(source.current.resourceVersion).toBe('55');
    await informer.stop();
  });

  it('re-watches at once when the server ends a watch normally', async () => {
    const { clock, source, informer } = setup();
    await informer.start();
    await clock.advance(0);
    source.current.end();
    await flushPromises();
    expect(source.watches).toHaveLength(2);
    await informer.stop();
  });

  it('re-emits the cache periodically as updates', async () => {
    const { clock, source, events, informer } = setup({ resyncPeriodMs: 30_000 });
    source.items = [obj('a', '5')];
    await informer.start();
    await clock.advance(0);
    events.length = 0;
    await clock.advance(30_000);
    expect(events).toEqual(['update a@5->5']);
    await informer.stop();
  });

  it('stops: aborts the watch and starts nothing more', async () => {
    const { clock, source, informer } = setup();
    await informer.start();
    await clock.advance(0);
    await informer.stop();
    expect(source.current.signal.aborted).toBe(true);
    await clock.advance(120_000);
    expect(source.watches).toHaveLength(1);
  });
});
