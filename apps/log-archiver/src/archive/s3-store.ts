import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isWharfError, NotFoundError, statusCodeOf } from '@wharf/platform';
import { ArchiveStoreError, assertSafeKey, type ArchiveStore, type PutOptions, type StoredObject } from './archive-store';
import { MultipartEtag, normalizeEtag } from './multipart-etag';

export interface S3StoreOptions {
  /** e.g. http://127.0.0.1:9000; unset for AWS. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Unset: the SDK's default credential chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** MinIO-like stores need path-style addressing. */
  readonly forcePathStyle: boolean;
  /** Bytes per multipart part (≥ 5 MiB). Memory per upload ≈ partSize × (queueSize + 1). */
  readonly partSizeBytes: number;
  /** Parts of one object uploaded in parallel. */
  readonly queueSize: number;
  /** Compare the store's ETag with the locally computed MD5 ETag. @default true */
  readonly verifyEtag?: boolean;
  /** Sockets per host; keep ≥ the archiver's parallel uploads × queueSize. @default 64 */
  readonly maxSockets?: number;
  /**
   * Send `Expect: 100-continue` on large bodies (the SDK's default, from 2 MiB). Off by
   * default: S3-compatible servers that do not answer it make every part wait ≥ 6 s.
   * @default false
   */
  readonly expectContinue?: boolean;
  /** SDK attempts per request. @default 3 */
  readonly maxAttempts?: number;
  /** Injected in tests. */
  readonly client?: S3Client;
}

/** An S3 client configured for S3-compatible stores (no default CRC32 checksums). */
export function createS3Client(options: S3StoreOptions): S3Client {
  const maxSockets = options.maxSockets ?? 64;
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    forcePathStyle: options.forcePathStyle,
    // Since early 2025 the SDK sends CRC32 checksums by default, which several S3-compatible
    // stores reject (aws-sdk-js-v3#6819); only send them where the API requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts ?? 3,
    expectContinueHeader: options.expectContinue ?? false,
    requestHandler: {
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      connectionTimeout: 5_000,
      requestTimeout: 60_000,
    },
  });
}

/**
 * Archive store on S3 (or any S3-compatible server). Objects are streamed with lib-storage's
 * `Upload` (multipart above one part, bounded memory), which S3 makes visible atomically on
 * completion. Write-then-verify: the ETag the store returns for the write must equal the MD5
 * ETag computed while streaming (else a HEAD must show the streamed size).
 */
export class S3Store implements ArchiveStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.client = options.client ?? createS3Client(options);
  }

  uri(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<StoredObject> {
    assertSafeKey(key);
    const { partSizeBytes: partSize } = this.options;
    const etag = new MultipartEtag(partSize);
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        etag.update(chunk);
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    source.once('error', (error) => tap.destroy(error));
    source.pipe(tap);

    const abortController = new AbortController();
    const onAbort = (): void => abortController.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: key,
        Body: tap,
        ContentType: options.contentType ?? 'text/plain; charset=utf-8',
      },
      partSize,
      queueSize: this.options.queueSize,
      leavePartsOnError: false,
      abortController,
    });
    let returnedEtag: string | undefined;
    try {
      const result = await upload.done();
      returnedEtag = normalizeEtag(result.ETag);
    } catch (error) {
      source.destroy();
      if (isWharfError(error) || options.signal?.aborted) throw error;
      throw this.storeError('cannot upload to the S3 archive', error, { key });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }

    const expected = etag.digest();
    const verifyEtag = this.options.verifyEtag ?? true;
    if (verifyEtag && returnedEtag !== undefined) {
      // The store computed this ETag from the bytes it received (per part for multipart), so a
      // match proves it holds exactly what was streamed; S3 is read-after-write consistent.
      if (returnedEtag === expected) return { key, bytes };
      throw new ArchiveStoreError('the S3 archive stored different bytes than were sent', 'VerifyFailed', {
        context: { key, expectedEtag: expected, etag: returnedEtag },
      });
    }
    // No comparable ETag (verification off, or a store that returned none): check the size.
    const head = await this.head(key);
    if (!head || head.bytes !== bytes) {
      throw new ArchiveStoreError('the S3 archive does not hold the object just written', 'VerifyFailed', {
        context: { key, expectedBytes: bytes, bytes: head?.bytes },
      });
    }
    return { key, bytes };
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const head = await this.head(key);
    return head ? { key, bytes: head.bytes } : undefined;
  }

  async read(key: string): Promise<Readable> {
    assertSafeKey(key);
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      if (!(result.Body instanceof Readable)) throw new TypeError('S3 GetObject returned no Node stream');
      return result.Body;
    } catch (error) {
      if (statusCodeOf(error) === 404) throw new NotFoundError('no such archived object', { context: { key } });
      throw this.storeError('cannot read from the S3 archive', error, { key });
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key !== undefined) objects.push({ key: o.Key, bytes: o.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.storeError('cannot list the S3 archive', error, { prefix });
    }
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async abortIncomplete(prefix: string): Promise<number> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.options.bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined || !u.Key.startsWith(prefix)) continue;
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: u.Key, UploadId: u.UploadId }),
          );
          removed++;
        }
        const more = page.IsTruncated === true;
        keyMarker = more ? page.NextKeyMarker : undefined;
        uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (error) {
      throw this.storeError('cannot clean incomplete uploads in the S3 archive', error, { prefix });
    }
    return removed;
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (error) {
      throw this.storeError('the S3 archive bucket is not usable', error, {});
    }
  }

  /** Closes the client's sockets. */
  destroy(): void {
    if (!this.options.client) this.client.destroy();
  }

  private async head(key: string): Promise<{ bytes: number; etag?: string } | undefined> {
    assertSafeKey(key);
    try {
      const result = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { bytes: result.ContentLength ?? 0, etag: normalizeEtag(result.ETag) };
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw this.storeError('cannot stat in the S3 archive', error, { key });
    }
  }

  private storeError(message: string, cause: unknown, context: Record<string, unknown>): ArchiveStoreError {
    const status = statusCodeOf(cause);
    const name = (cause as { name?: unknown } | null)?.name;
    const reason =
      name === 'NoSuchBucket' || (status === 404 && Object.keys(context).length === 0)
        ? 'BucketMissing'
        : status === 403 || status === 401
          ? 'AccessDenied'
          : 'StoreUnavailable';
    return new ArchiveStoreError(message, reason, {
      cause,
      context: { ...context, bucket: this.options.bucket, status, error: typeof name === 'string' ? name : undefined },
    });
  }
}
