/**
 * The "raw kafkajs" peer: a plain producer loop with the same record size, batch size, acks and
 * idempotence as stream-ingest's sink, no HTTP, no parsing. Prints one JSON line.
 *
 *   tsx raw-kafkajs-producer.ts <brokers> <topic> <records> <recordBytes> <batch>
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';

async function main(): Promise<void> {
  const [brokers = '127.0.0.1:9092', topic = 'bench', recordsArg = '1000000', sizeArg = '200', batchArg = '2000'] = process.argv.slice(2);
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
    await producer.send({ topic, acks: -1, messages: sent + batchSize <= records ? batch : batch.slice(0, records - sent) });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  process.stdout.write(`${JSON.stringify({ records, seconds, msgsPerSec: records / seconds, cpuUsPerRecord: (cpu.user + cpu.system) / records, rssMb: process.memoryUsage().rss / 2 ** 20 })}\n`);
}

void main();
