import { parseTaskOutput, TaskOutputScanner } from './task-output';

describe('task outputs', () => {
  it('takes the last valid marker line, canonical JSON', () => {
    const log = 'hello\n::wharf-output:: {"a": 1}\nmore\n  ::wharf-output::  [1, 2, "x"]\r\nbye';
    expect(parseTaskOutput(log)).toEqual({ outputJson: '[1,2,"x"]', problem: '' });
  });

  it('has no output without a marker; reports an invalid or too large marker', () => {
    expect(parseTaskOutput('just logs\n')).toEqual({ outputJson: '', problem: '' });
    expect(parseTaskOutput('::wharf-output:: {"a":1}\n::wharf-output:: {oops')).toEqual({
      outputJson: '{"a":1}',
      problem: 'output marker line is not valid JSON',
    });
    expect(parseTaskOutput(`::wharf-output:: "${'x'.repeat(100)}"`, 50).problem).toMatch(/larger than 50 bytes/);
    expect(parseTaskOutput('echo ::wharf-output:: 1').outputJson).toBe('');
  });

  it('scans chunks in bounded memory, a marker split across chunks included', () => {
    const scanner = new TaskOutputScanner(64);
    scanner.push('noise '.repeat(10_000));
    scanner.push('\n::wharf-out');
    scanner.push('put:: {"ok":');
    scanner.push('true}\n');
    scanner.push('x'.repeat(100_000));
    expect(scanner.finish()).toEqual({ outputJson: '{"ok":true}', problem: '' });
  });
});
