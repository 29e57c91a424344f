import { logLevel } from 'kafkajs';
import pino from 'pino';
import { Writable } from 'node:stream';
import { kafkaLevelOf, kafkaLogCreator, pinoLevelOf } from './kafka-client';

function capture(level = 'debug'): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, destination), lines };
}

describe('kafkajs log bridge', () => {
  it.each([
    [logLevel.ERROR, 'error'],
    [logLevel.WARN, 'warn'],
    [logLevel.INFO, 'info'],
    [logLevel.DEBUG, 'debug'],
    [logLevel.NOTHING, 'silent'],
  ])('maps kafkajs level %d to pino %s', (level, expected) => {
    expect(pinoLevelOf(level)).toBe(expected);
  });

  it('lets kafkajs log exactly what the pino logger would print', () => {
    expect(kafkaLevelOf(capture('warn').logger)).toBe(logLevel.WARN);
    expect(kafkaLevelOf(capture('debug').logger)).toBe(logLevel.DEBUG);
    expect(kafkaLevelOf(capture('silent').logger)).toBe(logLevel.NOTHING);
  });

  it('writes kafkajs entries as pino lines with the namespace as a field', async () => {
    const { logger, lines } = capture();
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    log({
      namespace: 'Consumer',
      level: logLevel.WARN,
      label: 'WARN',
      log: {
        timestamp: '2026-01-01T00:00:00Z',
        message: 'Restarting the consumer',
        logger: 'kafkajs',
        groupId: 'g1',
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'Restarting the consumer',
      kafkaNamespace: 'Consumer',
      component: 'kafkajs',
      groupId: 'g1',
    });
    expect(lines[0]).not.toHaveProperty('timestamp');
  });
});
