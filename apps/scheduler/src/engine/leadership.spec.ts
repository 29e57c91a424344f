import { createLogger, UnavailableError, type Component } from '@wharf/platform';
import { eventually } from '@wharf/testing';
import { aQueue } from '../domain/test-builders';
import { defaultSpecLimits } from '../domain/spec-validator';
import { EventHub } from '../state/event-hub';
import { JobStore } from '../state/job-store';
import { MemoryKafka, MemoryStateLog } from '../state/memory-state-log';
import { JobEngine } from './job-engine';
import { Leadership } from './leadership';

const logger = createLogger({ service: 'test', level: 'silent' });

function build(cluster: MemoryKafka, components: () => Component[]) {
  const engine = new JobEngine({
    store: new JobStore(),
    hub: new EventHub(),
    log: new MemoryStateLog(cluster),
    logger,
    now: () => new Date(),
    queues: [aQueue()],
    capacity: { cpu: Infinity, memory: Infinity, gpu: Infinity, maxRunning: Infinity },
    specLimits: defaultSpecLimits,
    retentionMs: 1_000,
  });
  const leadership = new Leadership({ engine, logger, leaderComponents: components, admissionIntervalMs: 10_000, expiryIntervalMs: 10_000 });
  return { engine, leadership };
}

describe('Leadership', () => {
  it('retries a takeover that fails for a passing reason, then leads; stands down on loss', async () => {
    let failures = 1;
    const started: string[] = [];
    const component = (): Component => ({
      name: 'consumer',
      start: async () => {
        if (failures-- > 0) throw new UnavailableError('topic metadata not settled');
        started.push('start');
      },
      stop: async () => {
        started.push('stop');
      },
    });
    const { engine, leadership } = build(new MemoryKafka(), () => [component()]);
    leadership.startedLeading();
    await leadership.settled();
    expect(leadership.isLeading()).toBe(true);
    expect(engine.isActive()).toBe(true);
    // Consumers start in the background, retried.
    await eventually(() => expect(started).toEqual(['start']), { timeoutMs: 5_000 });
    leadership.stoppedLeading();
    await leadership.settled();
    expect(leadership.isLeading()).toBe(false);
    expect(engine.isActive()).toBe(false);
    expect(started).toEqual(['start', 'stop']);
  });

  it('stands down when fenced', async () => {
    const { engine, leadership } = build(new MemoryKafka(), () => []);
    leadership.startedLeading();
    await leadership.settled();
    leadership.fenced();
    await leadership.settled();
    expect(engine.isActive()).toBe(false);
    await leadership.stop();
  });
});
