import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { LogReadError } from '../kube/kube-ports';
import { S3Store } from './s3-store';

const md5 = (data: Uint8Array): Buffer => createHash('md5').update(data).digest();

/** An in-memory S3 that answers like a real one (ETags are MD5s), recording every command. */
function fakeS3(options: { failPart?: number } = {}) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const parts = new Map<number, Buffer>();
  const objects = new Map<string, Buffer>();
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name;
      const input = command.input;
      calls.push({ name, input });
      switch (name) {
        case 'PutObjectCommand': {
          const body = Buffer.from(input['Body'] as Buffer);
          objects.set(input['Key'] as string, body);
          return { ETag: `"${md5(body).toString('hex')}"` };
        }
        case 'CreateMultipartUploadCommand':
          return { UploadId: 'u1' };
        case 'UploadPartCommand': {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          // Settles on a later turn, as a request would.
          await new Promise<void>((resolve) => setImmediate(resolve));
          inFlight--;
          const number = input['PartNumber'] as number;
          if (number === options.failPart) throw Object.assign(new Error('connection reset'), { name: 'NetworkingError' });
          const body = Buffer.from(input['Body'] as Buffer); // a copy: the store reuses its buffers
          parts.set(number, body);
          return { ETag: `"${md5(body).toString('hex')}"` };
        }
        case 'CompleteMultipartUploadCommand': {
          const list = (input['MultipartUpload'] as { Parts: { PartNumber: number }[] }).Parts;
          const bodies = list.map((p) => parts.get(p.PartNumber) as Buffer);
          objects.set(input['Key'] as string, Buffer.concat(bodies));
          return { ETag: `"${md5(Buffer.concat(bodies.map(md5))).toString('hex')}-${bodies.length}"` };
        }
        case 'AbortMultipartUploadCommand':
          parts.clear();
          return {};
        default:
          throw new Error(`unexpected ${name}`);
      }
    },
    destroy: (): void => undefined,
  };
  return { client: client as unknown as S3Client, calls, objects, maxInFlight: () => maxInFlight };
}

const partSize = 5 * 1024 * 1024;

function storeOn(client: S3Client): S3Store {
  return new S3Store({ region: 'us-east-1', bucket: 'b', forcePathStyle: true, partSizeBytes: partSize, queueSize: 2, client });
}

function chunksOf(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  return chunks;
}

describe('S3Store part writer', () => {
  it('cuts a long stream into full parts, ≤ queueSize in flight, and verifies the multipart ETag', async () => {
    const s3 = fakeS3();
    const data = Buffer.alloc(4 * partSize + 12_345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 13)) & 0xff;
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    await expect(storeOn(s3.client).put('k/a.log', Readable.from(chunksOf(data, 65_537)))).resolves.toEqual({ key: 'k/a.log', bytes: data.length });
    // Part buffers are reused: at most queueSize + 1 for any length.
    const partBuffers = allocations.mock.calls.filter(([size]) => size === partSize).length;
    expect(partBuffers).toBeGreaterThanOrEqual(1);
    expect(partBuffers).toBeLessThanOrEqual(3);
    allocations.mockRestore();
    const uploads = s3.calls.filter((c) => c.name === 'UploadPartCommand');
    expect(uploads.map((c) => [c.input['PartNumber'], (c.input['Body'] as Buffer).length])).toEqual([
      [1, partSize],
      [2, partSize],
      [3, partSize],
      [4, partSize],
      [5, 12_345],
    ]);
    expect(s3.maxInFlight()).toBeLessThanOrEqual(2);
    expect(s3.objects.get('k/a.log')?.equals(data)).toBe(true);
  });

  it('sends a body of at most one part as one PutObject (exactly one part too)', async () => {
    for (const size of [0, 1000, 300_000, partSize]) {
      const s3 = fakeS3();
      const data = Buffer.alloc(size, 7);
      await storeOn(s3.client).put('k/b.log', Readable.from(chunksOf(data, 65_536)));
      expect(s3.calls.map((c) => c.name)).toEqual(['PutObjectCommand']);
      expect(s3.objects.get('k/b.log')?.equals(data)).toBe(true);
    }
  });

  it('a failed part aborts the multipart upload after in-flight parts settled', async () => {
    const s3 = fakeS3({ failPart: 2 });
    const data = Buffer.alloc(4 * partSize, 1);
    await expect(storeOn(s3.client).put('k/c.log', Readable.from(chunksOf(data, 65_536)))).rejects.toMatchObject({
      name: 'ArchiveStoreError',
      reason: 'StoreUnavailable',
    });
    const names = s3.calls.map((c) => c.name);
    expect(names).toContain('AbortMultipartUploadCommand');
    expect(names).not.toContain('CompleteMultipartUploadCommand');
    expect(s3.objects.has('k/c.log')).toBe(false);
  });

  it('a body error rejects with that error and aborts', async () => {
    const s3 = fakeS3();
    const failure = new LogReadError('pod vanished', 'PodGone', true);
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent++ < 100) this.push(Buffer.alloc(65_536, 2));
        else this.destroy(failure);
      },
    });
    await expect(storeOn(s3.client).put('k/d.log', body)).rejects.toBe(failure);
    expect(s3.calls.map((c) => c.name)).toContain('AbortMultipartUploadCommand');
    expect(s3.objects.has('k/d.log')).toBe(false);
  });
});
