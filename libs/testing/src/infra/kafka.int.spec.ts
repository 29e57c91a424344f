import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressionTypes, Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { eventually } from '../eventually';
import { testInfra } from '../test-infra';
import { uniqueName } from '../unique';
import { ensureInstalled } from './install';
import { startKafka, type KafkaServer } from './kafka';

const client = (brokers: string[]) =>
  new Kafka({ clientId: uniqueName('infra-test'), brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 2_000 } });

async function consumeAll(kafka: Kafka, topic: string, expected: number, options: { readCommitted?: boolean } = {}): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('g'), readUncommitted: !options.readCommitted });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? '') });
  try {
    await eventually(() => expect(values.length).toBeGreaterThanOrEqual(expected), {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: `${expected} records on ${topic}`,
    });
    return values;
  } finally {
    await consumer.disconnect();
  }
}

describe('Apache Kafka (KRaft, single node)', () => {
  describe('a dedicated broker killed with -9', () => {
    let server: KafkaServer;
    let workDir: string;

    beforeAll(async () => {
      workDir = mkdtempSync(join(tmpdir(), 'wharf-kafka-'));
      server = await startKafka({ installDir: ensureInstalled('kafka'), workDir });
    });
    afterAll(async () => {
      await server?.stop();
      rmSync(workDir, { recursive: true, force: true });
    });

    it('keeps all 10,000 acks=all records across kill -9 and restart', async () => {
      const topic = uniqueName('durable');
      const kafka = client(server.brokers);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await admin.disconnect();
      const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
      await producer.connect();
      for (let batch = 0; batch < 10; batch++) {
        await producer.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: Array.from({ length: 1_000 }, (_, i) => ({ key: `k${i % 50}`, value: `r${batch * 1_000 + i}` })),
        });
      }
      await producer.disconnect();

      await server.process.kill();
      expect(server.process.running).toBe(false);
      await server.process.start();

      const values = await consumeAll(client(server.brokers), topic, 10_000);
      expect(new Set(values).size).toBe(10_000);
      expect(values).toHaveLength(10_000);
    });

    it('lets a client observe the broker going away and coming back', async () => {
      const kafka = client(server.brokers);
      const admin = kafka.admin();
      await admin.connect();
      await server.process.kill();
      const noRetry = new Kafka({ clientId: 'probe', brokers: server.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      await expect(noRetry.connect()).rejects.toThrow();
      await server.process.start();
      await eventually(async () => expect(await admin.listTopics()).toEqual(expect.any(Array)), {
        timeoutMs: 60_000,
        description: 'the admin client to reach the restarted broker',
      });
      await admin.disconnect();
    });
  });

  it('shows a read_committed consumer committed transactions only', async () => {
    const kafka = client(testInfra().kafka.brokers);
    const topic = uniqueName('tx');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ transactionalId: uniqueName('tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }] });
    await aborted.abort();
    const marker = await producer.transaction();
    await marker.send({ topic, messages: [{ value: 'committed-3' }] });
    await marker.commit();
    await producer.disconnect();

    const values = await consumeAll(kafka, topic, 3, { readCommitted: true });
    expect(values).toEqual(['committed-1', 'committed-2', 'committed-3']);
  });
});
