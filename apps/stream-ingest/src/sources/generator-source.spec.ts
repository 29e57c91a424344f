import { eventually, FakeClock } from '@wharf/testing';
import { sourceHarness } from '../../test/source-harness';
import { GeneratorSource } from './generator-source';

describe('GeneratorSource', () => {
  it('generates count records from the template', async () => {
    const { sink, context } = sourceHarness();
    const source = new GeneratorSource({ kind: 'generator', rate: 0, count: 3, template: '{"seq":{{ seq }},"again":{{seq}}}' });
    await source.start(context);
    await eventually(() => expect(sink.values('orders-out')).toEqual(['{"seq":1,"again":1}', '{"seq":2,"again":2}', '{"seq":3,"again":3}']));
    await source.stop();
  });

  it('paces records at the rate on the clock', async () => {
    const clock = new FakeClock();
    const { sink, context } = sourceHarness({}, clock);
    const source = new GeneratorSource({ kind: 'generator', rate: 10, count: 0, template: '{{seq}}' });
    await source.start(context);
    await clock.advance(0);
    expect(sink.values('orders-out')).toEqual(['1']);
    await clock.advance(250);
    expect(sink.values('orders-out')).toEqual(['1', '2', '3']);
    const stopping = source.stop();
    await clock.advance(1000);
    await stopping;
    expect(source.position).toBe(4);
  });

  it('waits for the window instead of generating ahead of the sink', async () => {
    const { sink, runner, context } = sourceHarness({ limits: { maxInFlightRecords: 10, maxInFlightBytes: 1 << 20 } });
    sink.auto = false;
    const source = new GeneratorSource({ kind: 'generator', rate: 0, count: 0, template: '{{seq}}' });
    await source.start(context);
    await eventually(() => expect(runner.inFlight).toBe(10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runner.inFlight).toBe(10);
    const stopping = source.stop();
    await stopping;
  });
});
