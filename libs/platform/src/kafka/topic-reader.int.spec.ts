import { testInfra, uniqueName } from '@wharf/testing';
import pino from 'pino';
import { createKafka, type KafkaClient } from './kafka-client';
import { KafkaProducer, TransactionalProducer } from './kafka-producer';
import type { KafkaRecord } from './kafka-record';
import { ensureTopics } from './topic-admin';
import { readToEnd } from './topic-reader';

const logger = pino({ level: 'silent' });

describe('readToEnd against a real broker', () => {
  let kafka: KafkaClient;
  let producer: KafkaProducer;

  beforeAll(async () => {
    kafka = createKafka({
      brokers: testInfra().kafka.brokers,
      clientId: uniqueName('reader-test'),
      logger,
    });
    producer = new KafkaProducer({ kafka, logger });
    await producer.start();
  });
  afterAll(async () => {
    await producer.stop();
  });

  async function createTopic(partitions: number, compacted = false): Promise<string> {
    const topic = uniqueName('changelog');
    const admin = kafka.admin();
    try {
      await ensureTopics(admin, [{ topic, partitions, compacted }]);
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  const read = async (topic: string): Promise<KafkaRecord[]> => {
    const records: KafkaRecord[] = [];
    const count = await readToEnd(kafka, topic, (record) => void records.push(record));
    expect(count).toBe(records.length);
    return records;
  };
  const describeRecord = (r: KafkaRecord): string =>
    `${r.key?.toString()}=${r.value?.toString() ?? 'null'}`;

  it('returns nothing for an empty topic', async () => {
    expect(await read(await createTopic(3))).toEqual([]);
  });

  it('returns exactly what was produced, tombstones included, in offset order per partition', async () => {
    const topic = await createTopic(3, true);
    const produced = Array.from({ length: 600 }, (_, i) => ({
      key: `job-${i % 40}`,
      value: Buffer.from(`v${i}`),
    }));
    for (let i = 0; i < produced.length; i += 100)
      await producer.send(topic, produced.slice(i, i + 100));
    await producer.send(topic, [{ key: 'job-1', value: null }]);

    const records = await read(topic);
    expect(records.map(describeRecord).sort()).toEqual(
      [...produced.map((p) => `${p.key}=${p.value.toString()}`), 'job-1=null'].sort(),
    );
    for (const partition of [0, 1, 2]) {
      const offsets = records.filter((r) => r.partition === partition).map((r) => Number(r.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }

    // Records written after a read started are the next read's business.
    await producer.send(topic, [{ key: 'job-2', value: Buffer.from('later') }]);
    expect(await read(topic)).toHaveLength(records.length + 1);
  });

  // kafkajs' admin asks for the last stable offset, which stops before a transaction whose
  // commit returned but whose markers are still on their way: such a read ended before the last
  // commit in 1–5 % of tries. Each round below commits, then reads at once.
  it('reads the transaction committed just before the call, every time (200 rounds)', async () => {
    const topic = await createTopic(1);
    const writer = new TransactionalProducer({ kafka, logger, transactionalId: uniqueName('tx') });
    await writer.start();
    const missed: string[] = [];
    try {
      for (let round = 0; round < 200; round++) {
        await writer.runTransaction((tx) =>
          tx.send(topic, [{ key: 'k', value: Buffer.from(`v${round}`) }]),
        );
        const records = await read(topic);
        if (records.length !== round + 1 || records.at(-1)?.value?.toString() !== `v${round}`) {
          missed.push(
            `round ${round}: ${records.length} records, last ${records.at(-1)?.value?.toString()}`,
          );
        }
      }
    } finally {
      await writer.stop();
    }
    expect(missed).toEqual([]);
  });

  it('ends on a topic whose last offsets are transaction markers, and skips aborted records', async () => {
    const topic = await createTopic(2, true);
    const writer = new TransactionalProducer({ kafka, logger, transactionalId: uniqueName('tx') });
    await writer.start();
    try {
      await writer.runTransaction((tx) =>
        tx.send(topic, [
          { key: 'a', value: Buffer.from('1') },
          { key: 'b', value: Buffer.from('2') },
        ]),
      );
      await expect(
        writer.runTransaction(async (tx) => {
          await tx.send(topic, [{ key: 'c', value: Buffer.from('aborted') }]);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      await writer.runTransaction((tx) => tx.send(topic, [{ key: 'd', value: Buffer.from('3') }]));
    } finally {
      await writer.stop();
    }
    expect((await read(topic)).map(describeRecord).sort()).toEqual(['a=1', 'b=2', 'd=3']);
  });
});
