import { Observation } from '@wharf/contracts';
import { createLogger, InvalidArgumentError, UnavailableError, type ProducerRecord } from '@wharf/platform';
import { eventually } from '@wharf/testing';
import type { KubeJob, KubePod } from '../kube/kube-objects';
import { renderRun } from '../launch/job-renderer';
import { ObservationPublisher } from '../observations/observation-publisher';
import { FakePodLogs } from '../../test/fake-pod-logs';
import { launchRun, seed000 } from '../../test/launch-fixtures';
import { JobWatcher, type WatchedCache } from './job-watcher';
import { KeyedWorkQueue } from './keyed-work-queue';
import { outputUnavailable } from './task-outputs';

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

function setup(send: (topic: string, records: readonly ProducerRecord[]) => Promise<unknown> = async () => [], podLogs = new FakePodLogs()) {
  const jobs = new FakeInformer<KubeJob>();
  const pods = new FakeInformer<KubePod>();
  const sent: string[] = [];
  /** What reached Kafka, decoded, in order. */
  const delivered: Observation[] = [];
  const publisher = new ObservationPublisher({
    logger,
    runsLimit: 100,
    sender: {
      send: async (topic, records) => {
        await send(topic, records);
        sent.push(...records.map((r) => String(r.key)));
        delivered.push(...records.map((r) => Observation.decode(r.value ?? Buffer.alloc(0))));
        return [];
      },
    },
  });
  const spy = jest.spyOn(publisher, 'publish');
  const watcher = new JobWatcher({ jobs: [jobs], pods: [pods], publisher, podLogs, logger, now: () => now, concurrency: 2, setTimer: (fn) => {
    const t = setTimeout(fn, 5);
    return () => clearTimeout(t);
  } });
  return { jobs, pods, watcher, publisher, spy, sent, delivered, podLogs };
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

describe('JobWatcher: task outputs of workflow Jobs', () => {
  const ns = 'default';
  const jobId = 'wf-task-1';
  function wfJob(status: KubeJob['status'] = {}): KubeJob {
    const run = launchRun({ jobId, workflowId: 'wf-1', taskName: 'fan' }, { items: ['a', 'b', 'c'], parallelism: 3, command: ['work'] });
    const rendered = renderRun(run).job;
    return { ...rendered, metadata: { ...rendered.metadata, uid: 'wu' }, status };
  }
  const jobName = wfJob().metadata.name ?? '';
  const complete = (): KubeJob => wfJob({ completedIndexes: '0-2', conditions: [{ type: 'Complete', status: 'True' }] });
  function pod(index: number, phase = 'Succeeded'): KubePod {
    const name = `${jobName}-${index}-x`;
    return {
      metadata: {
        name,
        namespace: ns,
        uid: name,
        labels: { 'batch.kubernetes.io/job-name': jobName, 'batch.kubernetes.io/controller-uid': 'wu' },
        annotations: { 'batch.kubernetes.io/job-completion-index': String(index) },
      },
      status: { phase },
    };
  }
  const podName = (index: number): string => pod(index).metadata.name ?? '';
  const indexes = (delivered: Observation[]) => delivered.filter((o) => o.index).map((o) => o.index?.result);
  const facts = (delivered: Observation[]) =>
    delivered.map((o) => (o.index ? `index/${o.index.result?.index}` : o.finished ? 'finished' : o.started ? 'started' : o.created ? 'created' : '?'));

  it("reads each succeeded index's main log once and publishes the index with its output, before the run's end", async () => {
    const { jobs, pods, watcher, delivered, podLogs, publisher } = setup();
    podLogs.setLog(ns, podName(0), 'starting\n::wharf-output:: {"i": 0, "s": "é✓"}\nbye\n');
    podLogs.setLog(ns, podName(1), 'no marker here\n');
    podLogs.setLog(ns, podName(2), '::wharf-output:: [2]\n::wharf-output:: {broken\n');
    await watcher.start();
    jobs.add(wfJob({ active: 3 }));
    for (const i of [0, 1, 2]) pods.add(pod(i));
    await watcher.idle();
    jobs.update(complete());
    await watcher.idle();
    expect(indexes(delivered)).toEqual([
      { index: 0, succeeded: true, exitCode: 0, reason: 'Completed', outputJson: '{"i":0,"s":"é✓"}' },
      { index: 1, succeeded: true, exitCode: 0, reason: 'Completed', outputJson: '' },
      { index: 2, succeeded: true, exitCode: 0, reason: 'output marker line is not valid JSON', outputJson: '[2]' },
    ]);
    expect(facts(delivered)).toEqual(['created', 'started', 'index/0', 'index/1', 'index/2', 'finished']);
    // Resyncs and pod updates read nothing again.
    jobs.update(complete());
    pods.update(pod(1));
    await watcher.idle();
    expect(podLogs.reads.sort()).toEqual([0, 1, 2].map((i) => `${ns}/${podName(i)}/main`));
    expect(podLogs.lists).toBe(0);
    expect(publisher.has(`${jobId}/1/index/2`)).toBe(true);
    await watcher.stop();
  });

  it('reads no log for a Job without the workflow label', async () => {
    const { jobs, pods, watcher, delivered, podLogs } = setup();
    const plain = job({ completedIndexes: '0-4', conditions: [{ type: 'Complete', status: 'True' }] });
    const name = plain.metadata.name ?? '';
    await watcher.start();
    for (const i of [0, 1, 2, 3, 4]) {
      pods.add({
        metadata: { name: `${name}-${i}`, namespace: ns, labels: { 'batch.kubernetes.io/job-name': name }, annotations: { 'batch.kubernetes.io/job-completion-index': String(i) } },
        status: { phase: 'Succeeded' },
      });
    }
    jobs.add(plain);
    await watcher.idle();
    expect(podLogs.reads).toEqual([]);
    expect(podLogs.lists).toBe(0);
    expect(indexes(delivered)).toHaveLength(5);
    expect(indexes(delivered).every((r) => r?.outputJson === '' && r.reason === 'Completed')).toBe(true);
    expect(facts(delivered).at(-1)).toBe('finished');
    await watcher.stop();
  });

  it("holds an index and the run's end back while its log cannot be read, and retries only that read", async () => {
    const { jobs, pods, watcher, delivered, podLogs, publisher } = setup();
    for (const i of [0, 1, 2]) podLogs.setLog(ns, podName(i), `::wharf-output:: ${i * 10}\n`);
    podLogs.failNext(podName(1), new UnavailableError('kubelet unreachable'), new UnavailableError('kubelet unreachable'));
    await watcher.start();
    for (const i of [0, 1, 2]) pods.add(pod(i));
    jobs.add(complete());
    await watcher.idle();
    // First round: indexes 0 and 2 out, index 1 and the end held back.
    expect(facts(delivered)).toEqual(['created', 'started', 'index/0', 'index/2']);
    await eventually(() => expect(publisher.has(`${jobId}/1/finished`)).toBe(true), { timeoutMs: 5_000 });
    expect(facts(delivered)).toEqual(['created', 'started', 'index/0', 'index/2', 'index/1', 'finished']);
    expect(indexes(delivered).find((r) => r?.index === 1)).toMatchObject({ succeeded: true, outputJson: '10', reason: 'Completed' });
    const reads = (i: number) => podLogs.reads.filter((r) => r.includes(podName(i))).length;
    expect([reads(0), reads(1), reads(2)]).toEqual([1, 3, 1]);
    await watcher.stop();
  });

  it('keeps outputs read when publishing fails, so a retry reads no log again', async () => {
    let fail = 1;
    const { jobs, pods, watcher, delivered, podLogs, publisher } = setup(async () => {
      if (fail-- > 0) throw new Error('broker down');
    });
    for (const i of [0, 1, 2]) podLogs.setLog(ns, podName(i), `::wharf-output:: "out-${i}"\n`);
    await watcher.start();
    for (const i of [0, 1, 2]) pods.add(pod(i));
    jobs.add(complete());
    await eventually(() => expect(publisher.has(`${jobId}/1/finished`)).toBe(true), { timeoutMs: 5_000 });
    expect(podLogs.reads).toHaveLength(3);
    expect(indexes(delivered).map((r) => r?.outputJson)).toEqual(['"out-0"', '"out-1"', '"out-2"']);
    await watcher.stop();
  });

  it('reports a succeeded index whose pod or log is gone as "output unavailable", with no output', async () => {
    const { jobs, pods, watcher, delivered, podLogs } = setup();
    podLogs.setLog(ns, podName(0), '::wharf-output:: true\n');
    // Index 1: no pod in the cache, none at the apiserver. Index 2: the log read answers 404.
    // Index 0's pod lost its main container (400): unreadable for good, too.
    podLogs.failNext(podName(0), new InvalidArgumentError('container main is not valid for pod'));
    await watcher.start();
    pods.add(pod(0));
    pods.add(pod(2));
    jobs.add(complete());
    await watcher.idle();
    const unavailable = { succeeded: true, exitCode: 0, reason: outputUnavailable, outputJson: '' };
    expect(indexes(delivered)).toEqual([0, 1, 2].map((index) => ({ index, ...unavailable })));
    expect(podLogs.lists).toBe(1);
    expect(facts(delivered).at(-1)).toBe('finished');
    await watcher.stop();
  });

  it('asks the apiserver for the pods once when the cache has not seen them yet', async () => {
    const { jobs, watcher, delivered, podLogs } = setup();
    podLogs.listed = [pod(0), pod(1), pod(2), { ...pod(1, 'Failed'), metadata: { ...pod(1).metadata, name: `${jobName}-1-failed` } }];
    for (const i of [0, 1, 2]) podLogs.setLog(ns, podName(i), `::wharf-output:: {"n":${i}}\n`);
    await watcher.start();
    jobs.add(complete());
    await watcher.idle();
    expect(podLogs.lists).toBe(1);
    expect(indexes(delivered).map((r) => r?.outputJson)).toEqual(['{"n":0}', '{"n":1}', '{"n":2}']);
    expect(podLogs.reads).not.toContain(`${ns}/${jobName}-1-failed/main`);
    await watcher.stop();
  });

  it('retries a failed pod list, and reports a Job deleted meanwhile with what it can read', async () => {
    const { jobs, watcher, delivered, podLogs, publisher } = setup();
    const list = jest.spyOn(podLogs, 'listJobPods').mockRejectedValueOnce(new UnavailableError('apiserver down'));
    await watcher.start();
    jobs.add(complete());
    await watcher.idle();
    expect(facts(delivered)).toEqual(['created', 'started']);
    jobs.remove(complete());
    await eventually(() => expect(facts(delivered)).toEqual(['created', 'started', 'index/0', 'index/1', 'index/2', 'finished']), {
      timeoutMs: 5_000,
    });
    expect(list).toHaveBeenCalledTimes(2);
    expect(indexes(delivered).every((r) => r?.reason === outputUnavailable)).toBe(true);
    expect(publisher.has(`${jobId}/1/finished`)).toBe(false); // forgotten: the Job is gone
    await watcher.stop();
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
