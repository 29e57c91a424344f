import { ContentTypes, Reply, RecordHeaders } from '@wharf/contracts';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import pino from 'pino';
import { InvalidArgumentError, UnavailableError } from '../errors';
import { ConsumerPipeline, type ConsumedRecord } from './consumer-pipeline';
import type { KafkaClient } from './kafka-client';
import type { RecordSender } from './kafka-producer';
import type { ProducerRecord } from './kafka-record';

type Listener = (event: { payload: Record<string, unknown> }) => void;

/** Just enough of a kafkajs consumer: the test calls eachBatch itself. */
class FakeConsumer {
  readonly events = { GROUP_JOIN: 'group_join', CRASH: 'crash' };
  private readonly listeners = new Map<string, Listener[]>();
  eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  running = false;
  disconnects = 0;

  on(event: string, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  emit(event: string, payload: Record<string, unknown>): void {
    for (const listener of this.listeners.get(event) ?? []) listener({ payload });
  }
  connect = async (): Promise<void> => undefined;
  subscribe = async (): Promise<void> => undefined;
  partitionsConsumedConcurrently: number | undefined;
  autoCommitInterval: number | undefined;
  /** Offsets resolved when the pipeline asked for a commit during a batch. */
  readonly commitChecks: string[][] = [];
  async run(config: {
    eachBatch: (payload: EachBatchPayload) => Promise<void>;
    partitionsConsumedConcurrently?: number;
    autoCommitInterval?: number;
  }): Promise<void> {
    this.eachBatch = config.eachBatch;
    this.partitionsConsumedConcurrently = config.partitionsConsumedConcurrently;
    this.autoCommitInterval = config.autoCommitInterval;
    this.running = true;
    this.emit(this.events.GROUP_JOIN, {});
  }
  async disconnect(): Promise<void> {
    this.running = false;
    this.disconnects++;
  }

  /** Delivers a batch; returns the offsets the pipeline resolved (= will commit). */
  async deliver(topic: string, messages: KafkaMessage[]): Promise<string[]> {
    const resolved: string[] = [];
    await this.eachBatch?.({
      batch: { topic, partition: 0, messages },
      resolveOffset: (offset: string) => resolved.push(offset),
      heartbeat: async () => undefined,
      commitOffsetsIfNecessary: async () => void this.commitChecks.push([...resolved]),
      isRunning: () => this.running,
      isStale: () => false,
    } as unknown as EachBatchPayload);
    return resolved;
  }
}

class FakeKafka {
  readonly consumers: FakeConsumer[] = [];
  admin() {
    return {
      connect: async () => undefined,
      listTopics: async () => ['t.dlq'],
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
      }),
      disconnect: async () => undefined,
    };
  }
  consumer(): FakeConsumer {
    const consumer = new FakeConsumer();
    this.consumers.push(consumer);
    return consumer;
  }
  get current(): FakeConsumer {
    const consumer = this.consumers[this.consumers.length - 1];
    if (!consumer) throw new Error('no consumer yet');
    return consumer;
  }
}

class FakeDlq implements RecordSender {
  readonly sent: { topic: string; record: ProducerRecord }[] = [];
  failures = 0;
  async send(topic: string, records: readonly ProducerRecord[]) {
    if (this.failures > 0) {
      this.failures--;
      throw new UnavailableError('broker down');
    }
    for (const record of records) this.sent.push({ topic, record });
    return [];
  }
  sendMessage(): never {
    throw new Error('not used');
  }
}

let offset = 0;
const message = (value: string | null, headers: Record<string, string> = {}): KafkaMessage =>
  ({
    key: Buffer.from('k'),
    value: value === null ? null : Buffer.from(value),
    headers: { [RecordHeaders.contentType]: ContentTypes.json, ...headers },
    offset: String(offset++),
    timestamp: '0',
    attributes: 0,
  }) as KafkaMessage;
const reply = (commandId: string): string =>
  JSON.stringify(Reply.toJSON(Reply.fromPartial({ commandId })));

function setup(handle: (record: ConsumedRecord<Reply>, attempt: number) => Promise<void>) {
  const kafka = new FakeKafka();
  const dlq = new FakeDlq();
  const pipeline = new ConsumerPipeline<Reply>({
    kafka: kafka as unknown as KafkaClient,
    logger: pino({ level: 'silent' }),
    groupId: 'g',
    topics: ['t'],
    message: { type: Reply, name: 'Reply' },
    handle: (record, ctx) => handle(record, ctx.attempt),
    dlq,
    retry: { minDelayMs: 1, maxDelayMs: 2 },
  });
  return { kafka, dlq, pipeline };
}

describe('ConsumerPipeline', () => {
  it('decodes, handles, and resolves each offset after its handler succeeded', async () => {
    const seen: string[] = [];
    const { kafka, pipeline } = setup(async (record) => {
      seen.push(record.message?.commandId ?? 'tombstone');
    });
    expect(pipeline.ready()).toBe(false);
    await pipeline.start();
    expect(pipeline.ready()).toBe(true);
    const batch = [message(reply('c1')), message(null), message(reply('c2'))];
    expect(await kafka.current.deliver('t', batch)).toEqual(batch.map((m) => m.offset));
    expect(seen).toEqual(['c1', 'tombstone', 'c2']);
    await pipeline.stop();
  });

  it('consumes one partition at a time unless partitionConcurrency says otherwise', async () => {
    const one = setup(async () => undefined);
    await one.pipeline.start();
    expect(one.kafka.current.partitionsConsumedConcurrently).toBe(1);
    await one.pipeline.stop();
    const kafka = new FakeKafka();
    const pipeline = new ConsumerPipeline({
      kafka: kafka as unknown as KafkaClient,
      logger: pino({ level: 'silent' }),
      groupId: 'g',
      topics: ['t'],
      handle: async () => undefined,
      dlq: new FakeDlq(),
      partitionConcurrency: 4,
    });
    await pipeline.start();
    expect(kafka.current.partitionsConsumedConcurrently).toBe(4);
    await pipeline.stop();
  });

  it('commits only at the end of a batch unless commitIntervalMs asks for commits during it', async () => {
    const plain = setup(async () => undefined);
    await plain.pipeline.start();
    await plain.kafka.current.deliver('t', [message(reply('c1')), message(reply('c2'))]);
    expect(plain.kafka.current.autoCommitInterval).toBeUndefined();
    expect(plain.kafka.current.commitChecks).toEqual([]);
    await plain.pipeline.stop();
    const kafka = new FakeKafka();
    const pipeline = new ConsumerPipeline({
      kafka: kafka as unknown as KafkaClient,
      logger: pino({ level: 'silent' }),
      groupId: 'g',
      topics: ['t'],
      handle: async () => undefined,
      dlq: new FakeDlq(),
      commitIntervalMs: 1_000,
    });
    await pipeline.start();
    const batch = [message(reply('c1')), message(reply('c2'))];
    await kafka.current.deliver('t', batch);
    expect(kafka.current.autoCommitInterval).toBe(1_000);
    // After each finished record, with that record resolved (kafkajs commits when the interval passed).
    expect(kafka.current.commitChecks).toEqual([
      [batch[0]?.offset],
      [batch[0]?.offset, batch[1]?.offset],
    ]);
    await pipeline.stop();
  });

  it('retries a retriable failure in place: the handler sees the record again, nothing is skipped', async () => {
    const calls: string[] = [];
    const { kafka, dlq, pipeline } = setup(async (record, attempt) => {
      calls.push(`${record.message?.commandId}#${attempt}`);
      if (record.message?.commandId === 'c1' && attempt < 2)
        throw new UnavailableError('kubernetes down');
    });
    await pipeline.start();
    const batch = [message(reply('c1')), message(reply('c2'))];
    expect(await kafka.current.deliver('t', batch)).toEqual(batch.map((m) => m.offset));
    expect(calls).toEqual(['c1#0', 'c1#1', 'c1#2', 'c2#0']);
    expect(dlq.sent).toHaveLength(0);
    await pipeline.stop();
  });

  it('parks undecodable and rejected records in the DLQ and goes on', async () => {
    const seen: string[] = [];
    const { kafka, dlq, pipeline } = setup(async (record) => {
      if (record.message?.commandId === 'bad') throw new InvalidArgumentError('unknown queue');
      seen.push(record.message?.commandId ?? '');
    });
    await pipeline.start();
    const batch = [message('{not json'), message(reply('bad')), message(reply('c3'))];
    expect(await kafka.current.deliver('t', batch)).toEqual(batch.map((m) => m.offset));
    expect(seen).toEqual(['c3']);
    expect(dlq.sent.map((s) => s.topic)).toEqual(['t.dlq', 't.dlq']);
    expect(dlq.sent.map((s) => s.record.headers?.[RecordHeaders.errorType])).toEqual([
      'DecodeError',
      'InvalidArgumentError',
    ]);
    expect(dlq.sent[0]?.record.value?.toString()).toBe('{not json');
    expect(dlq.sent[0]?.record.headers?.[RecordHeaders.originalOffset]).toBe(batch[0]?.offset);
    await pipeline.stop();
  });

  it('does not resolve a poison record until the DLQ write succeeded', async () => {
    const { kafka, dlq, pipeline } = setup(async () => {
      throw new InvalidArgumentError('always bad');
    });
    dlq.failures = 3;
    await pipeline.start();
    const batch = [message(reply('x'))];
    expect(await kafka.current.deliver('t', batch)).toEqual([batch[0]?.offset]);
    expect(dlq.sent).toHaveLength(1);
  });

  it('on stop, leaves a record that is still being retried unresolved', async () => {
    let failing = 0;
    const { kafka, pipeline } = setup(async () => {
      failing++;
      throw new UnavailableError('down');
    });
    await pipeline.start();
    const delivering = kafka.current.deliver('t', [message(reply('c1'))]);
    while (failing < 3) await new Promise((resolve) => setImmediate(resolve));
    await pipeline.stop();
    expect(await delivering).toEqual([]);
    expect(kafka.current.disconnects).toBe(1);
  });

  it('restarts the consumer with backoff after a crash kafkajs does not restart', async () => {
    jest.useFakeTimers();
    try {
      const { kafka, pipeline } = setup(async () => undefined);
      await pipeline.start();
      const first = kafka.current;
      first.emit(first.events.CRASH, { error: new Error('boom'), restart: false });
      expect(pipeline.ready()).toBe(false);
      await jest.advanceTimersByTimeAsync(1_500);
      expect(kafka.consumers).toHaveLength(2);
      expect(pipeline.ready()).toBe(true);
      await pipeline.stop();
    } finally {
      jest.useRealTimers();
    }
  });
});
