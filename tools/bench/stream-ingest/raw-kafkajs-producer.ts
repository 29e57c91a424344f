/**
 * The "raw kafkajs" peer: a plain producer loop with the same record size, batch size, acks and
 * idempotence as stream-ingest's sink, no HTTP, no parsing. Prints one JSON line.
 *
 *   tsx raw-kafkajs-producer.ts <brokers> <topic> <records> <recordBytes> <batch> [prebuilt|fresh]
 *
 * prebuilt (the default): one batch of identical messages, built once and sent again and again:
 * kafkajs' cost alone. fresh: every batch is made of new records, the same lines the upstream
 * serves stream-ingest (a seq number in each), cut from one buffer per batch: what a program
 * that produces 1,000,000 different records at least does.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { lines } from './bench-kit';

async function main(): Promise<void> {
  const [brokers = '127.0.0.1:9092', topic = 'bench', recordsArg = '1000000', sizeArg = '200', batchArg = '2000', mode = 'prebuilt'] = process.argv.slice(2);
  const records = Number(recordsArg);
  const size = Number(sizeArg);
  const batchSize = Number(batchArg);
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = Buffer.from(`{"seq":0,"pad":"${'x'.repeat(Math.max(0, size - 20))}"}`.slice(0, size));
  const batch = Array.from({ length: batchSize }, () => ({ value }));
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let sent = 0; sent < records; sent += batchSize) {
    const count = Math.min(batchSize, records - sent);
    await producer.send({ topic, acks: -1, messages: mode === 'fresh' ? freshBatch(sent, count, size) : count === batchSize ? batch : batch.slice(0, count) });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  process.stdout.write(`${JSON.stringify({ records, seconds, msgsPerSec: records / seconds, cpuUsPerRecord: (cpu.user + cpu.system) / records, rssMb: process.memoryUsage().rss / 2 ** 20 })}\n`);
}

/** `count` new records: the upstream's lines from `seq` on, without their newlines. */
function freshBatch(seq: number, count: number, size: number): { value: Buffer }[] {
  const chunk = lines(seq, count, size);
  const messages: { value: Buffer }[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = chunk.indexOf(0x0a, start);
    messages.push({ value: chunk.subarray(start, end) });
    start = end + 1;
  }
  return messages;
}

void main();
