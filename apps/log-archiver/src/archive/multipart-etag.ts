import { createHash, type Hash } from 'node:crypto';

/**
 * The ETag an S3-compatible store gives an object uploaded by lib-storage's `Upload` with
 * `partSize`: the hex MD5 of the body when it fits in one part (a plain PutObject), otherwise
 * `md5(md5(part1) ‖ … ‖ md5(partN))-N`. Upload cuts the body into parts of exactly `partSize`
 * bytes except the last, so the archiver can compute it while streaming and compare it with what
 * the store reports: a content check without reading the object back.
 */
export class MultipartEtag {
  private readonly partDigests: Buffer[] = [];
  private current: Hash = createHash('md5');
  private inPart = 0;

  constructor(private readonly partSize: number) {}

  update(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      // A full part is closed only once more bytes follow: the last part may be a full one.
      if (this.inPart === this.partSize) this.closePart();
      const take = Math.min(this.partSize - this.inPart, chunk.length - offset);
      this.current.update(chunk.subarray(offset, offset + take));
      this.inPart += take;
      offset += take;
    }
  }

  /** The expected ETag, without quotes, lower-case hex. */
  digest(): string {
    const last = this.current.digest();
    if (this.partDigests.length === 0) return last.toString('hex');
    const all = [...this.partDigests, last];
    return `${createHash('md5').update(Buffer.concat(all)).digest('hex')}-${all.length}`;
  }

  private closePart(): void {
    this.partDigests.push(this.current.digest());
    this.current = createHash('md5');
    this.inPart = 0;
  }
}

/** `"abc"` / `W/"abc"` / `ABC` → `abc`. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}
