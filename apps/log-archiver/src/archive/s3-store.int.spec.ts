import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { testInfra, uniqueName } from '@wharf/testing';
import { describeArchiveStoreContract } from '../../test/archive-store-contract';
import { ArchiveStoreError } from './archive-store';
import { createS3Client, S3Store, type S3StoreOptions } from './s3-store';

const partSizeBytes = 5 * 1024 * 1024;
let bucket: string;
let client: S3Client;
const clients: S3Store[] = [];

function options(overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  const s3 = testInfra().s3;
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
    partSizeBytes,
    queueSize: 2,
    ...overrides,
  };
}

beforeAll(async () => {
  bucket = uniqueName('archive');
  client = createS3Client(options());
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(() => {
  client.destroy();
  clients.forEach((c) => c.destroy());
});

describeArchiveStoreContract('s3 (real server)', async () => {
  const store = new S3Store(options());
  clients.push(store);
  return { store, prefix: `${uniqueName('t')}/`, partSize: partSizeBytes };
});

describe('S3Store against the real server', () => {
  it('verifies multipart uploads by ETag (the store agrees with the locally computed one)', async () => {
    const store = new S3Store(options());
    clients.push(store);
    const data = randomBytes(partSizeBytes * 2 + 17);
    await expect(store.put(`${uniqueName('etag')}/x.log`, Readable.from([data]))).resolves.toMatchObject({ bytes: data.length });
  });

  it('fails with ArchiveStoreError (BucketMissing) on a bucket that does not exist', async () => {
    const store = new S3Store(options({ bucket: uniqueName('nobucket') }));
    clients.push(store);
    await expect(store.check()).rejects.toMatchObject({ name: 'ArchiveStoreError', reason: 'BucketMissing' });
    await expect(store.put('a/b.log', Buffer.from('x'))).rejects.toBeInstanceOf(ArchiveStoreError);
  });

  it('fails with ArchiveStoreError (StoreUnavailable) when nothing listens', async () => {
    const store = new S3Store(options({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }));
    clients.push(store);
    await expect(store.put('a/b.log', Buffer.from('x'))).rejects.toMatchObject({ name: 'ArchiveStoreError', reason: 'StoreUnavailable' });
  });
});
