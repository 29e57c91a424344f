import type { Processor } from '@wharf/contracts';
import { InvalidArgumentError } from '@wharf/platform';
import { FakeClock } from '@wharf/testing';
import { compileProcessors, runSteps, type StreamRecord } from './processor-chain';
import { RecordRejectedError } from './stream-errors';

const clock = new FakeClock();
const signal = new AbortController().signal;

function record(text: string): StreamRecord {
  const raw = Buffer.from(text);
  return { value: raw, raw, key: null, headers: {} };
}

async function run(processors: Processor[], text: string): Promise<{ outcome: string; record: StreamRecord }> {
  const { steps } = compileProcessors(processors, { streamId: 's1', clock });
  const r = record(text);
  const outcome = await runSteps(steps, r, signal);
  return { outcome, record: r };
}

describe('compileProcessors', () => {
  it('parses, filters, maps and keys a record', async () => {
    const chain: Processor[] = [
      { parseJson: true },
      { filter: "lang = 'en' and retweets > 10" },
      { map: '{ "id": id, "text": $uppercase(text) }' },
      { key: 'id' },
    ];
    const kept = await run(chain, '{"id":7,"lang":"en","retweets":11,"text":"hi"}');
    expect(kept.outcome).toBe('keep');
    expect(kept.record.value).toEqual({ id: 7, text: 'HI' });
    expect(kept.record.key).toBe('7');

    const dropped = await run(chain, '{"id":8,"lang":"fr","retweets":99,"text":"salut"}');
    expect(dropped.outcome).toBe('drop');
  });

  it('rejects malformed JSON with the step that failed', async () => {
    await expect(run([{ parseJson: true }], '{"broken"')).rejects.toMatchObject({
      name: 'RecordRejectedError',
      step: 'processors[0].parse_json',
    });
  });

  it('rejects a record whose expression fails, naming the error', async () => {
    const error = await run([{ parseJson: true }, { map: 'a + 1' }], '{"a":"x"}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordRejectedError);
    expect((error as RecordRejectedError).step).toBe('processors[1].map');
    expect((error as Error).message).toMatch(/T2001/);
  });

  it('rejects a key expression that finds nothing', async () => {
    await expect(run([{ parseJson: true }, { key: 'missing' }], '{"a":1}')).rejects.toThrow(/key expression produced no value/);
  });

  it('gives expressions the text of an unparsed record, and the stream bindings', async () => {
    const { record: r } = await run([{ map: '$stream & ":" & $' }], 'raw line');
    expect(r.value).toBe('s1:raw line');
  });

  it('lists every invalid processor at once', () => {
    let thrown: unknown;
    try {
      compileProcessors([{ filter: 'a = ' }, {}, { rateLimit: -1 }, { key: '   ' }], { streamId: 's', clock });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).violations.map((v) => v.field)).toEqual([
      'processors[0].filter',
      'processors[1]',
      'processors[2].rate_limit',
      'processors[3].key',
    ]);
  });

  it('cannot reach JavaScript: no eval, no process, no constructor escape', async () => {
    for (const expression of ['$eval("process.exit(1)")', 'constructor.constructor("return process")()', '$string(process)']) {
      const result = await run([{ map: expression }], '{}').then(
        (r) => r.record.value,
        (e: unknown) => e,
      );
      expect(String(result)).not.toMatch(/\[object process\]/);
    }
  });

  it('stops an expression that runs too long', async () => {
    const { steps } = compileProcessors([{ map: '($f := function($n){ $n = 0 ? 0 : $f($n - 1) }; $f(100000))' }], {
      streamId: 's',
      clock,
      expressionLimits: { maxDepth: 50 },
    });
    await expect(Promise.resolve(runSteps(steps, record('{}'), signal))).rejects.toThrow(/D1011|D1012/);
  });

  it('runs synchronous chains without promises', () => {
    const { steps } = compileProcessors([{ parseJson: true }], { streamId: 's', clock });
    expect(runSteps(steps, record('{"a":1}'), signal)).toBe('keep');
  });
});

describe('rate_limit', () => {
  it('lets a burst of one second through, then paces records on the clock', async () => {
    const fake = new FakeClock();
    const { steps } = compileProcessors([{ rateLimit: 2 }], { streamId: 's', clock: fake });
    const passed: number[] = [];
    const all = [0, 1, 2, 3].map(async (i) => {
      await runSteps(steps, record(String(i)), signal);
      passed.push(i);
    });
    await fake.advance(0);
    expect(passed.sort()).toEqual([0, 1]);
    await fake.advance(500);
    expect(passed.length).toBe(3);
    await fake.advance(500);
    await Promise.all(all);
    expect(passed.length).toBe(4);
  });

  it('gives up waiting when the stream stops', async () => {
    const fake = new FakeClock();
    const { steps } = compileProcessors([{ rateLimit: 1 }], { streamId: 's', clock: fake });
    const abort = new AbortController();
    await runSteps(steps, record('a'), abort.signal);
    const waiting = Promise.resolve(runSteps(steps, record('b'), abort.signal));
    abort.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });
});
