import { createLogger } from '@wharf/platform';
import { eventually } from '@wharf/testing';
import type { KubeJob, KubePod } from '../kube/kube-objects';
import { renderRun } from '../launch/job-renderer';
import { ObservationPublisher } from '../observations/observation-publisher';
import { seed000 } from '../../test/launch-fixtures';
import { JobWatcher, type WatchedCache } from './job-watcher';
import { KeyedWorkQueue } from './keyed-work-queue';

type Handlers<T> = Parameters<WatchedCache<T>['subscribe']>[0];

class FakeInformer<T> implements WatchedCache<T> {
  handlers: Handlers<T>[] = [];
  synced = true;
  subscribe(h: Handlers<T>) {
    this.handlers.push(h);
    return () => (this.handlers = this.handlers.filter((x) => x !== h));
  }
  hasSynced() {
    return this.synced;
  }
  add(o: T) {
    for (const h of this.handlers) h.add?.(o);
  }
  update(o: T) {
    for (const h of this.handlers) h.update?.(o, o);
  }
  remove(o: T) {
    for (const h of this.handlers) h.delete?.(o);
  }
}

const logger = createLogger({ service: 'test', level: 'silent' });
const now = new Date('2030-01-01T00:00:00Z');

function setup(send: (topic: string, records: readonly unknown[]) => Promise<unknown> = async () => []) {
  const jobs = new FakeInformer<KubeJob>();
  const pods = new FakeInformer<KubePod>();
  const sent: string[] = [];
  const publisher = new ObservationPublisher({
    logger,
    runsLimit: 100,
    sender: {
      send: async (topic, records) => {
        await send(topic, records);
        sent.push(...records.map((r) => String(r.key)));
        return [];
      },
    },
  });
  const spy = jest.spyOn(publisher, 'publish');
  const watcher = new JobWatcher({ jobs: [jobs], pods: [pods], publisher, logger, now: () => now, concurrency: 2, setTimer: (fn) => {
    const t = setTimeout(fn, 5);
    return () => clearTimeout(t);
  } });
  return { jobs, pods, watcher, publisher, spy, sent };
}

function job(status: KubeJob['status'] = {}): KubeJob {
  const rendered = renderRun(seed000('rev-1')).job;
  return { ...rendered, metadata: { ...rendered.metadata, uid: 'u' }, status };
}

const facts = (spy: jest.SpyInstance) =>
  spy.mock.calls.flatMap(([obs]) => (obs as { key: string }[]).map((o) => o.key));

describe('JobWatcher', () => {
  it('publishes each fact once, in order, as the Job progresses', async () => {
    const { jobs, pods, watcher, publisher } = setup();
    await watcher.start();
    jobs.add(job());
    await watcher.idle();
    const name = job().metadata.name ?? '';
    pods.add({
      metadata: { name: 'p0', namespace: 'default', labels: { 'batch.kubernetes.io/job-name': name } },
      status: { phase: 'Running' },
    });
    await watcher.idle();
    jobs.update(job({ completedIndexes: '0-4', conditions: [{ type: 'Complete', status: 'True' }] }));
    jobs.update(job({ completedIndexes: '0-4', conditions: [{ type: 'Complete', status: 'True' }] }));
    await watcher.idle();
    expect(publisher.has('rev-1/1/finished')).toBe(true);
    await watcher.stop();
  });

  it('reports a Job deleted before it finished as cancelled, then forgets it', async () => {
    const { jobs, watcher, sent, publisher } = setup();
    await watcher.start();
    jobs.add(job({ active: 1 }));
    await watcher.idle();
    jobs.remove(job({ active: 1 }));
    await watcher.idle();
    expect(sent).toEqual(['rev-1', 'rev-1']);
    expect(publisher.has('rev-1/1/cancelled')).toBe(false); // forgotten: the Job is gone
  });

  it('retries publishing after a failure and loses nothing', async () => {
    let fail = 2;
    const { jobs, watcher, spy, publisher } = setup(async () => {
      if (fail-- > 0) throw new Error('broker down');
    });
    await watcher.start();
    jobs.add(job({ completedIndexes: '0', active: 4 }));
    await eventually(() => expect(publisher.has('rev-1/1/index/0')).toBe(true), { timeoutMs: 5_000 });
    expect(facts(spy).filter((k) => k === 'rev-1/1/created')).toHaveLength(3);
    await watcher.stop();
  });

  it('is ready when every informer has synced, and ignores objects that are not ours', async () => {
    const { jobs, watcher, spy } = setup();
    jobs.synced = false;
    expect(watcher.ready()).toBe(false);
    jobs.synced = true;
    expect(watcher.ready()).toBe(true);
    await watcher.start();
    jobs.add({ metadata: { name: 'theirs', namespace: 'default', labels: {} } });
    await watcher.idle();
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('KeyedWorkQueue', () => {
  it('coalesces keys, never runs one key twice at once, and bounds concurrency', async () => {
    let running = 0;
    let maxRunning = 0;
    const runs: string[] = [];
    const gates: (() => void)[] = [];
    const queue = new KeyedWorkQueue({
      concurrency: 2,
      retryDelayMs: () => 1,
      work: async (key) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs.push(key);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
      },
    });
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('c');
    queue.add('a'); // while a runs: once more afterwards
    expect(runs).toEqual(['a', 'b']);
    while (gates.length) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await queue.idle();
    expect(runs.sort()).toEqual(['a', 'a', 'b', 'c']);
    expect(maxRunning).toBe(2);
  });
});
