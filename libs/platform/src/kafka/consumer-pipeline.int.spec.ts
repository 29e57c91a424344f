import { ContentTypes, dlqTopic, RecordHeaders, Reply } from '@wharf/contracts';
import { eventually, testInfra, uniqueName } from '@wharf/testing';
import pino from 'pino';
import { UnavailableError } from '../errors';
import { ConsumerPipeline } from './consumer-pipeline';
import { createKafka, type KafkaClient } from './kafka-client';
import { KafkaProducer } from './kafka-producer';
import { headerString, type KafkaRecord } from './kafka-record';
import { ensureTopics } from './topic-admin';
import { readToEnd } from './topic-reader';

const logger = pino({ level: 'silent' });
const session = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  rebalanceTimeoutMs: 15_000,
};

describe('ConsumerPipeline against a real broker', () => {
  let kafka: KafkaClient;
  let producer: KafkaProducer;
  const stoppers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    kafka = createKafka({
      brokers: testInfra().kafka.brokers,
      clientId: uniqueName('pipeline-test'),
      logger,
    });
    producer = new KafkaProducer({ kafka, logger });
    await producer.start();
  });
  afterEach(async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
  });
  afterAll(async () => {
    await producer.stop();
  });

  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueName('pipeline');
    const admin = kafka.admin();
    try {
      await ensureTopics(admin, [{ topic, partitions }]);
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  async function committed(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  async function ends(topic: string): Promise<Map<number, bigint>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return new Map(
        (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
      );
    } finally {
      await admin.disconnect();
    }
  }

  it('commits an offset only after its handler succeeded, retries a retriable failure, skips nothing', async () => {
    const topic = await topicWith(2);
    const groupId = uniqueName('group');
    await producer.send(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 4}`, value: Buffer.from(`r${i}`) })),
    );
    const calls: string[] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let blockedAt: { partition: number; offset: bigint } | undefined;
    const pipeline = new ConsumerPipeline({
      kafka,
      logger,
      groupId,
      topics: [topic],
      session,
      dlq: producer,
      retry: { minDelayMs: 10, maxDelayMs: 50 },
      handle: async (record, ctx) => {
        const value = record.value?.toString() ?? '';
        calls.push(value);
        if (value === 'r5' && ctx.attempt === 0) throw new UnavailableError('dependency down');
        if (value === 'r12') {
          blockedAt = { partition: record.partition, offset: BigInt(record.offset) };
          await blocked;
        }
      },
    });
    stoppers.push(() => pipeline.stop());
    await pipeline.start();
    await eventually(() => expect(pipeline.ready()).toBe(true), {
      timeoutMs: 30_000,
      description: 'group joined',
    });

    // While r12's handler runs, its partition's committed offset never passes it.
    await eventually(() => expect(blockedAt).toBeDefined(), {
      timeoutMs: 30_000,
      description: 'r12 in its handler',
    });
    const whileBlocked = await committed(groupId, topic);
    const at = blockedAt as { partition: number; offset: bigint };
    expect(whileBlocked.get(at.partition) ?? -1n).toBeLessThanOrEqual(at.offset);
    release();

    await eventually(
      async () => {
        expect(new Set(calls)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `r${i}`)));
        expect(await committed(groupId, topic)).toEqual(await ends(topic));
      },
      { timeoutMs: 30_000, description: 'every record handled and committed' },
    );
    expect(calls.filter((v) => v === 'r5')).toHaveLength(2);
  });

  it('with partitionConcurrency, handles partitions at the same time, each in order, and commits only what finished', async () => {
    const topic = await topicWith(3);
    const groupId = uniqueName('group');
    await producer.send(
      topic,
      Array.from({ length: 30 }, (_, i) => ({
        key: null,
        partition: i % 3,
        value: Buffer.from(`r${i}`),
      })),
    );
    const handled = new Map<number, bigint[]>();
    // The first record of every partition waits until all three are in their handlers: with one
    // partition at a time this would never happen.
    const waiting = new Set<number>();
    let releaseAll: () => void = () => undefined;
    const allIn = new Promise<void>((resolve) => (releaseAll = resolve));
    let inFlight = 0;
    let maxInFlightPerPartition = 0;
    const perPartition = new Map<number, number>();
    const pipeline = new ConsumerPipeline({
      kafka,
      logger,
      groupId,
      topics: [topic],
      session,
      dlq: producer,
      partitionConcurrency: 3,
      handle: async (record) => {
        const mine = (perPartition.get(record.partition) ?? 0) + 1;
        perPartition.set(record.partition, mine);
        maxInFlightPerPartition = Math.max(maxInFlightPerPartition, mine);
        inFlight++;
        try {
          if (!handled.has(record.partition)) {
            waiting.add(record.partition);
            if (waiting.size === 3) releaseAll();
            await allIn;
          }
          handled.set(record.partition, [
            ...(handled.get(record.partition) ?? []),
            BigInt(record.offset),
          ]);
        } finally {
          inFlight--;
          perPartition.set(record.partition, mine - 1);
        }
      },
    });
    stoppers.push(() => pipeline.stop());
    await pipeline.start();
    await eventually(() => expect(waiting.size).toBe(3), {
      timeoutMs: 30_000,
      description: 'the three partitions in their handlers at once',
    });
    await eventually(
      async () => {
        expect([...handled.values()].flat()).toHaveLength(30);
        expect(await committed(groupId, topic)).toEqual(await ends(topic));
      },
      { timeoutMs: 30_000, description: 'every record handled and committed' },
    );
    for (const offsets of handled.values()) {
      expect(offsets).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
    }
    expect(maxInFlightPerPartition).toBe(1);
    expect(inFlight).toBe(0);
  });

  it('parks a malformed record in <topic>.dlq with the error headers and processes the rest', async () => {
    const topic = await topicWith(1);
    const encode = (commandId: string) =>
      Buffer.from(JSON.stringify(Reply.toJSON(Reply.fromPartial({ commandId }))));
    const json = { [RecordHeaders.contentType]: ContentTypes.json };
    await producer.send(topic, [
      { key: 'a', value: encode('c1'), headers: json },
      { key: 'bad', value: Buffer.from('{"commandId": '), headers: json },
      { key: 'b', value: encode('c2'), headers: json },
    ]);
    await producer.sendMessage(topic, 'c', Reply, Reply.fromPartial({ commandId: 'c3' }));
    const handled: string[] = [];
    const pipeline = new ConsumerPipeline<Reply>({
      kafka,
      logger,
      groupId: uniqueName('group'),
      topics: [topic],
      session,
      dlq: producer,
      message: { type: Reply, name: 'Reply' },
      handle: async (record) => {
        handled.push(record.message?.commandId ?? '');
      },
    });
    stoppers.push(() => pipeline.stop());
    await pipeline.start();
    await eventually(() => expect(handled).toEqual(['c1', 'c2', 'c3']), {
      timeoutMs: 30_000,
      description: 'good records',
    });

    const parked: KafkaRecord[] = [];
    await eventually(
      async () => {
        parked.length = 0;
        await readToEnd(kafka, dlqTopic(topic), (r) => void parked.push(r));
        expect(parked).toHaveLength(1);
      },
      { timeoutMs: 30_000, description: 'the DLQ record' },
    );
    const [dead] = parked as [KafkaRecord];
    expect(dead.key?.toString()).toBe('bad');
    expect(dead.value?.toString()).toBe('{"commandId": ');
    expect(headerString(dead.headers, RecordHeaders.errorType)).toBe('DecodeError');
    expect(headerString(dead.headers, RecordHeaders.error)).toContain('Reply: invalid JSON');
    expect(headerString(dead.headers, RecordHeaders.originalTopic)).toBe(topic);
    expect(headerString(dead.headers, RecordHeaders.originalPartition)).toBe('0');
    expect(headerString(dead.headers, RecordHeaders.originalOffset)).toBe('1');
    expect(headerString(dead.headers, RecordHeaders.contentType)).toBe(ContentTypes.json);
  });

  it('parks a record larger than the broker default (1 MiB) from a topic that allows it', async () => {
    const topic = uniqueName('pipeline-large');
    const admin = kafka.admin();
    try {
      await ensureTopics(admin, [{ topic, partitions: 1, maxMessageBytes: 4 * 1024 * 1024 }]);
    } finally {
      await admin.disconnect();
    }
    const large = Buffer.from(`{"commandId": "${'x'.repeat(2 * 1024 * 1024)}`);
    const json = { [RecordHeaders.contentType]: ContentTypes.json };
    await producer.send(topic, [{ key: 'large', value: large, headers: json }]);
    await producer.sendMessage(topic, 'ok', Reply, Reply.fromPartial({ commandId: 'after' }));
    const handled: string[] = [];
    const pipeline = new ConsumerPipeline<Reply>({
      kafka,
      logger,
      groupId: uniqueName('group'),
      topics: [topic],
      session,
      dlq: producer,
      message: { type: Reply, name: 'Reply' },
      handle: async (record) => {
        handled.push(record.message?.commandId ?? '');
      },
    });
    stoppers.push(() => pipeline.stop());
    await pipeline.start();
    await eventually(() => expect(handled).toEqual(['after']), {
      timeoutMs: 30_000,
      description: 'the record after the large one',
    });
    const parked: KafkaRecord[] = [];
    await eventually(
      async () => {
        parked.length = 0;
        await readToEnd(kafka, dlqTopic(topic), (r) => void parked.push(r));
        expect(parked).toHaveLength(1);
      },
      { timeoutMs: 30_000, description: 'the large DLQ record' },
    );
    expect(parked[0]?.value?.equals(large)).toBe(true);
  });
});
