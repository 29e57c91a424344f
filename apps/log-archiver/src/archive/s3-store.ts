import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
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
  /**
   * Sign the SHA-256 of every uploaded body (SigV4 `x-amz-content-sha256`), as the SDK does by
   * default. Off by default while ETags are verified: the MD5 ETag computed in-stream and
   * compared with the store's already proves the stored bytes are the streamed ones, and the
   * SDK's extra SHA-256 pass over every part was the largest CPU cost of an upload (the request
   * itself stays signed; TLS protects the body in transit on https endpoints).
   * @default false (true when verifyEtag is false)
   */
  readonly signPayload?: boolean;
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

/** Bodies of PutObject / UploadPart are sent as `UNSIGNED-PAYLOAD` (see S3StoreOptions.signPayload). */
function unsignedUploadBodies(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if ((context.commandName === 'UploadPartCommand' || context.commandName === 'PutObjectCommand') && request?.headers) {
        // The signer uses a present x-amz-content-sha256 as the payload hash instead of hashing the body.
        request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      }
      return next(args);
    },
    { step: 'build', name: 'wharfUnsignedUploadBodies' },
  );
}

/**
 * Archive store on S3 (or any S3-compatible server). Objects are streamed as lib-storage's
 * `Upload` would send them — one PutObject up to one part, else a multipart upload of
 * `partSize` parts, `queueSize` at once, aborted on failure — which S3 makes visible
 * atomically on completion. Write-then-verify: the ETag the store returns for the write must
 * equal the MD5 ETag computed while streaming (else a HEAD must show the streamed size).
 *
 * Parts are cut by {@link ObjectWriter} rather than lib-storage: lib-storage collects a part's
 * chunks and `Buffer.concat`s them into a new buffer per part, so a long log left a trail of
 * dead 5 MiB buffers (and their chunks) that V8 frees only at its next full GC — tens of MiB of
 * peak RSS. Here each chunk is copied once into a part buffer that is reused once its part is
 * sent: memory per object is at most `(queueSize + 1) × partSize`, whatever the log's length.
 */
export class S3Store implements ArchiveStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  /** Part buffers reused across parts and objects (see ObjectWriter). */
  private readonly parts: PartBuffers;

  constructor(private readonly options: S3StoreOptions) {
    this.client = options.client ?? createS3Client(options);
    this.parts = new PartBuffers(options.partSizeBytes, options.queueSize + 1);
    const signPayload = options.signPayload ?? options.verifyEtag === false;
    if (!options.client && !signPayload) unsignedUploadBodies(this.client);
  }

  uri(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<StoredObject> {
    assertSafeKey(key);
    const etag = new MultipartEtag(this.options.partSizeBytes);
    let bytes = 0;
    const abortController = new AbortController();
    const onAbort = (): void => {
      abortController.abort(options.signal?.reason);
      if (!Buffer.isBuffer(body)) body.destroy(new Error('the archive write was aborted'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const writer = new ObjectWriter(this.client, this.parts, {
      bucket: this.options.bucket,
      key,
      contentType: options.contentType ?? 'text/plain; charset=utf-8',
      partSize: this.options.partSizeBytes,
      queueSize: this.options.queueSize,
      signal: abortController.signal,
    });
    let returnedEtag: string | undefined;
    try {
      if (options.signal?.aborted) throw options.signal.reason;
      for await (const chunk of Buffer.isBuffer(body) ? [body] : body) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        etag.update(buffer);
        bytes += buffer.length;
        await writer.write(buffer);
      }
      returnedEtag = normalizeEtag(await writer.finish());
    } catch (error) {
      if (!Buffer.isBuffer(body)) body.destroy();
      abortController.abort();
      await writer.discard();
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

/**
 * Reusable part buffers of one size. A buffer goes back after its part was sent (the SDK is done
 * with the body once `send` settles, retries included); up to `keep` idle ones are kept.
 */
export class PartBuffers {
  private readonly idle: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    if (this.idle.length < this.keep) this.idle.push(buffer);
  }
}

interface ObjectWriterOptions {
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly partSize: number;
  readonly queueSize: number;
  readonly signal: AbortSignal;
}

/** Bytes of a small object collected as chunk views before a part buffer is taken. */
const SMALL_OBJECT_BYTES = 256 * 1024;

/**
 * Writes one object from chunks: PutObject when it fits in one part (a full part is cut only
 * once more bytes follow, as lib-storage does, so the MD5 ETag rule of MultipartEtag holds),
 * otherwise CreateMultipartUpload, UploadPart × n (`queueSize` in flight; `write` waits for a
 * free slot, which is the stream's backpressure) and CompleteMultipartUpload. `discard` aborts
 * the multipart upload after in-flight parts settled.
 */
class ObjectWriter {
  /** Chunks (views) of an object still smaller than SMALL_OBJECT_BYTES. */
  private small: Buffer[] = [];
  private smallBytes = 0;
  private part: Buffer | undefined;
  private filled = 0;
  private uploadId: string | undefined;
  private partNumber = 0;
  private readonly sent: { PartNumber: number; ETag: string | undefined }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly buffers: PartBuffers,
    private readonly o: ObjectWriterOptions,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.part === undefined && this.smallBytes + chunk.length <= Math.min(SMALL_OBJECT_BYTES, this.o.partSize)) {
      this.small.push(chunk);
      this.smallBytes += chunk.length;
      return;
    }
    if (this.part === undefined) this.takePart();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.filled === this.o.partSize) await this.sendPart();
      if (this.part === undefined) this.takePart();
      const copied = chunk.copy(this.part as Buffer, this.filled, offset, offset + Math.min(chunk.length - offset, this.o.partSize - this.filled));
      this.filled += copied;
      offset += copied;
    }
  }

  /** The ETag the store returned for the object. */
  async finish(): Promise<string | undefined> {
    if (this.uploadId === undefined) {
      const body = this.part ? this.part.subarray(0, this.filled) : this.small.length === 1 ? (this.small[0] as Buffer) : Buffer.concat(this.small);
      try {
        const result = await this.client.send(
          new PutObjectCommand({ Bucket: this.o.bucket, Key: this.o.key, Body: body, ContentLength: body.length, ContentType: this.o.contentType }),
          { abortSignal: this.o.signal },
        );
        return result.ETag;
      } finally {
        this.releasePart();
      }
    }
    await this.sendPart();
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure.error;
    const parts = [...this.sent].sort((a, b) => a.PartNumber - b.PartNumber);
    const result = await this.client.send(
      new CompleteMultipartUploadCommand({ Bucket: this.o.bucket, Key: this.o.key, UploadId: this.uploadId, MultipartUpload: { Parts: parts } }),
      { abortSignal: this.o.signal },
    );
    this.uploadId = undefined;
    return result.ETag;
  }

  /** After a failure: lets in-flight parts settle, then aborts the multipart upload (best effort). */
  async discard(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    this.releasePart();
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    if (uploadId === undefined) return;
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: this.o.key, UploadId: uploadId }))
      .catch(() => undefined); // leftovers are aborted by abortIncomplete on the next pass
  }

  private takePart(): void {
    this.part = this.buffers.take();
    this.filled = 0;
    for (const chunk of this.small) this.filled += chunk.copy(this.part, this.filled);
    this.small = [];
    this.smallBytes = 0;
  }

  private releasePart(): void {
    if (this.part) this.buffers.give(this.part);
    this.part = undefined;
    this.filled = 0;
  }

  /** Sends the current part once a slot is free (the first one creates the multipart upload). */
  private async sendPart(): Promise<void> {
    if (this.uploadId === undefined) {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.o.bucket, Key: this.o.key, ContentType: this.o.contentType }),
        { abortSignal: this.o.signal },
      );
      if (!created.UploadId) throw new Error('S3 CreateMultipartUpload returned no UploadId');
      this.uploadId = created.UploadId;
    }
    while (this.inFlight.size >= this.o.queueSize) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure.error;
    const buffer = this.part as Buffer;
    const body = buffer.subarray(0, this.filled);
    const partNumber = ++this.partNumber;
    this.part = undefined;
    this.filled = 0;
    const sending: Promise<void> = this.client
      .send(
        new UploadPartCommand({ Bucket: this.o.bucket, Key: this.o.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
        { abortSignal: this.o.signal },
      )
      .then(
        (result) => {
          this.sent.push({ PartNumber: partNumber, ETag: result.ETag });
        },
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => {
        this.inFlight.delete(sending);
        this.buffers.give(buffer);
      });
    this.inFlight.add(sending);
  }
}
