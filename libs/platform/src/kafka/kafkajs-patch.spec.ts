/**
 * The kafkajs patch (patches/kafkajs+2.2.4.patch, applied by patch-package on npm install)
 * changes how kafkajs builds produce requests, hashes keys and checksums batches, for speed. It
 * must not change a single byte on the wire. Each test runs the patched kafkajs and the same
 * version unpatched (the `kafkajs-pristine` alias) on the same inputs and compares the results.
 * docs/adr/0011-patched-kafkajs.md says why and what the patch does.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

interface EncoderLike {
  readonly buffer: Buffer;
  writeVarInt(value: number): EncoderLike;
  writeUVarInt(value: number): EncoderLike;
  writeVarLong(value: unknown): EncoderLike;
}
interface EncoderClass {
  new (): EncoderLike;
  sizeOfVarLong(value: unknown): number;
}
interface Kafkajs {
  readonly root: string;
  produceRequest(version: number): (args: Record<string, unknown>) => unknown;
  encodeRequest(args: { correlationId: number; clientId: string; request: unknown }): Promise<{ buffer: Buffer }>;
  murmur2(key: Buffer | string): number;
  crc32C(buffer: Buffer): number;
  groupMessagesPerPartition(args: Record<string, unknown>): Record<string, unknown[]>;
  Encoder: EncoderClass;
  Long: { fromNumber(value: number): unknown };
}

function load(name: 'kafkajs' | 'kafkajs-pristine'): Kafkajs {
  const root = require.resolve(`${name}/package.json`).replace(/package\.json$/, '');
  const at = (path: string): unknown => require(`${root}src/${path}`);
  return {
    root,
    produceRequest: (version) => at(`protocol/requests/produce/v${version}/request`) as (args: Record<string, unknown>) => unknown,
    encodeRequest: at('protocol/request') as Kafkajs['encodeRequest'],
    murmur2: at('producer/partitioners/default/murmur2') as Kafkajs['murmur2'],
    crc32C: at('protocol/recordBatch/crc32C') as Kafkajs['crc32C'],
    groupMessagesPerPartition: at('producer/groupMessagesPerPartition') as Kafkajs['groupMessagesPerPartition'],
    Encoder: at('protocol/encoder') as EncoderClass,
    Long: at('utils/long') as Kafkajs['Long'],
  };
}

const patched = load('kafkajs');
const pristine = load('kafkajs-pristine');

/** A small deterministic generator (xorshift32): the same "random" cases on every run. */
function generator(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function bytes(rnd: (n: number) => number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = rnd(256);
  return b;
}

describe('the kafkajs patch', () => {
  it('is applied (otherwise every comparison below would compare kafkajs with itself)', () => {
    const source = readFileSync(`${patched.root}src/protocol/requests/produce/v3/request.js`, 'utf8');
    expect(source).toContain('encodeUncompressed');
    expect(readFileSync(`${pristine.root}src/protocol/requests/produce/v3/request.js`, 'utf8')).not.toContain('encodeUncompressed');
  });

  it('writes produce requests byte for byte as kafkajs does, for every produce version and record shape', async () => {
    const rnd = generator(0x5eed);
    const value = (): Buffer | string | null => {
      switch (rnd(6)) {
        case 0:
          return null;
        case 1:
          return bytes(rnd, rnd(6000)); // larger than Buffer's pool
        case 2:
          return `text ${'é€'.repeat(rnd(40))}`; // multi-byte UTF-8
        default:
          return bytes(rnd, rnd(300));
      }
    };
    const headers = (): Record<string, string | Buffer | (string | Buffer)[]> | undefined => {
      switch (rnd(4)) {
        case 0:
          return { 'content-type': 'application/json', trace: [Buffer.from('a'), 'b'], empty: '' };
        case 1:
          return {};
        default:
          return undefined;
      }
    };
    const timestamp = (): string | number | undefined => {
      switch (rnd(4)) {
        case 0:
          return 1_765_000_000_000 - rnd(1_000_000_000);
        case 1:
          return String(1_765_000_000_000 + rnd(5_000));
        default:
          return undefined; // kafkajs takes Date.now()
      }
    };
    const now = Date.now;
    Date.now = () => 1_765_000_000_000;
    try {
      for (let i = 0; i < 400; i++) {
        const topicData = Array.from({ length: 1 + rnd(3) }, (_, t) => ({
          topic: `topic-${t}${'ü'.repeat(rnd(3))}`,
          partitions: Array.from({ length: 1 + rnd(4) }, (_, partition) => ({
            partition,
            firstSequence: rnd(2) === 0 ? undefined : rnd(1_000_000),
            messages: Array.from({ length: rnd(60) }, () => ({ key: rnd(2) === 0 ? null : value(), value: value(), headers: headers(), timestamp: timestamp() })),
          })),
        }));
        const version = 3 + rnd(5);
        const transactionalId = rnd(2) === 0 ? null : `tx-${rnd(100)}`;
        const producerId = rnd(1_000_000);
        const producerEpoch = rnd(10);
        const encode = async (k: Kafkajs): Promise<Buffer> => {
          const request = k.produceRequest(version)({ acks: -1, timeout: 30_000, transactionalId, producerId: k.Long.fromNumber(producerId), producerEpoch, compression: 0, topicData });
          return (await k.encodeRequest({ correlationId: i, clientId: 'wharf-ü', request })).buffer;
        };
        const [ours, theirs] = await Promise.all([encode(patched), encode(pristine)]);
        expect(ours.equals(theirs)).toBe(true);
      }
    } finally {
      Date.now = now;
    }
  });

  it("hashes keys as Kafka's murmur2 does (Kafka's own test vectors, and kafkajs on random keys)", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect(patched.murmur2(Buffer.from(key))).toBe(hash);
    const rnd = generator(42);
    for (let i = 0; i < 2_000; i++) {
      const key = rnd(3) === 0 ? `job-${rnd(1_000_000)}` : bytes(rnd, rnd(300));
      expect(patched.murmur2(key)).toBe(pristine.murmur2(key));
    }
  });

  it('checksums record batches with the same CRC-32C', () => {
    expect(patched.crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    for (let length = 0; length < 600; length++) {
      const b = randomBytes(length);
      expect(patched.crc32C(b)).toBe(pristine.crc32C(b));
      // At an odd offset into a larger buffer, as a request's batch body is.
      const inner = Buffer.concat([randomBytes(3), b]).subarray(3);
      expect(patched.crc32C(inner)).toBe(pristine.crc32C(inner));
    }
  });

  it('encodes varints and varlongs the same, at every length and sign', () => {
    const values = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, 2 ** 20, -(2 ** 20), 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 40), 1_765_000_000_000];
    for (const v of values) {
      expect(new patched.Encoder().writeVarLong(v).buffer).toEqual(new pristine.Encoder().writeVarLong(v).buffer);
      expect(patched.Encoder.sizeOfVarLong(v)).toBe(pristine.Encoder.sizeOfVarLong(v));
      if (Math.abs(v) < 2 ** 31) {
        expect(new patched.Encoder().writeVarInt(v).writeUVarInt(Math.abs(v)).buffer).toEqual(new pristine.Encoder().writeVarInt(v).writeUVarInt(Math.abs(v)).buffer);
      }
    }
  });

  it('groups messages by partition in the same order', () => {
    const partitionMetadata = [0, 1, 2, 3].map((partitionId) => ({ partitionId, leader: 1 }));
    const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${i % 37}`, value: `v${i}` }));
    const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % 4;
    expect(patched.groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner })).toEqual(
      pristine.groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner }),
    );
  });
});
