import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { testInfra } from '../test-infra';
import { uniqueName } from '../unique';

async function bytesOf(output: { Body?: { transformToByteArray(): Promise<Uint8Array> } }): Promise<Buffer> {
  if (!output.Body) throw new Error('the response has no body');
  return Buffer.from(await output.Body.transformToByteArray());
}

function s3(): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey } = testInfra().s3;
  return new S3Client({
    endpoint,
    region,
    credentials: { accessKeyId, secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

describe('S3-compatible store', () => {
  const client = s3();
  const bucket = uniqueName('bucket');

  beforeAll(async () => {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(() => client.destroy());

  it('takes a 50 MB multipart upload, serves ranges, lists by prefix and deletes', async () => {
    const size = 50 * 1024 * 1024;
    const data = randomBytes(size);
    // Stream the body in 1 MiB chunks, as the archiver does with pod logs of unknown length.
    const body = Readable.from((function* () {
      for (let offset = 0; offset < size; offset += 1024 * 1024) yield data.subarray(offset, offset + 1024 * 1024);
    })());
    const upload = new Upload({ client, params: { Bucket: bucket, Key: 'logs/a/big.log', Body: body }, partSize: 8 * 1024 * 1024, queueSize: 2 });
    const parts: number[] = [];
    upload.on('httpUploadProgress', (p) => p.part !== undefined && parts.push(p.part));
    await upload.done();
    expect(new Set(parts).size).toBeGreaterThanOrEqual(7); // multipart, not a single PUT

    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'logs/a/big.log' }));
    expect(head.ContentLength).toBe(size);
    const whole = await bytesOf(await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'logs/a/big.log' })));
    expect(createHash('sha256').update(whole).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));

    const range = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'logs/a/big.log', Range: 'bytes=1000-1999' }));
    expect(await bytesOf(range)).toEqual(data.subarray(1000, 2000));

    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'logs/a/small.log', Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'logs/b/other.log', Body: 'y' }));
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'logs/a/' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(['logs/a/big.log', 'logs/a/small.log']);

    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'logs/a/big.log' }));
    const after = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'logs/a/' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(['logs/a/small.log']);
  });

  it('honours conditional requests (If-None-Match on put, If-Match on get)', async () => {
    const key = 'manifest.json';
    const first = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"v":1}', IfNoneMatch: '*' }));
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"v":2}', IfNoneMatch: '*' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: '"not-the-etag"' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: first.ETag }));
    expect((await bytesOf(got)).toString()).toBe('{"v":1}');
  });
});
