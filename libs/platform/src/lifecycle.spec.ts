import { createLogger } from './logger';
import { Lifecycle, type Component } from './lifecycle';

const logger = createLogger({ service: 'test', level: 'silent' });

function recorder(log: string[], name: string, extra: Partial<Component> = {}): Component {
  return {
    name,
    start: async () => void log.push(`start ${name}`),
    stop: async () => void log.push(`stop ${name}`),
    ...extra,
  };
}

describe('Lifecycle', () => {
  it('starts in order and stops in reverse order', async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle({ logger }).register(recorder(log, 'a')).register(recorder(log, 'b'));
    await lifecycle.start();
    expect(lifecycle.isReady()).toBe(true);
    await expect(lifecycle.stop()).resolves.toBe(true);
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(lifecycle.isReady()).toBe(false);
  });

  it('stops what started when a later component fails to start', async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle({ logger })
      .register(recorder(log, 'a'))
      .register(recorder(log, 'b', { start: async () => Promise.reject(new Error('port in use')) }))
      .register(recorder(log, 'c'));
    await expect(lifecycle.start()).rejects.toThrow('port in use');
    expect(log).toEqual(['start a', 'stop a']);
  });

  it('is not ready while any component is not ready', async () => {
    let ready = false;
    const lifecycle = new Lifecycle({ logger }).register({ name: 'standby', ready: () => ready });
    await lifecycle.start();
    expect(lifecycle.isReady()).toBe(false);
    ready = true;
    expect(lifecycle.isReady()).toBe(true);
  });

  it('gives up on a stop that overruns the deadline and says so', async () => {
    const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 20 }).register({
      name: 'stuck',
      stop: () => new Promise(() => undefined),
    });
    await lifecycle.start();
    await expect(lifecycle.stop()).resolves.toBe(false);
  });

  it('reports a failing stop as unclean but still stops the rest', async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle({ logger })
      .register(recorder(log, 'a'))
      .register(recorder(log, 'b', { stop: async () => Promise.reject(new Error('flush failed')) }));
    await lifecycle.start();
    await expect(lifecycle.stop()).resolves.toBe(false);
    expect(log).toContain('stop a');
  });
});
