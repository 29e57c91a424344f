import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError, statusCodeOf } from '@wharf/platform';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ArchivedLogs, LogPiece } from '../api/log-ports';

/** The parts of log-archiver's manifest.json (wharf.dev/log-archive-manifest/v1) GetLogs reads. */
const manifestSchema = z.object({
  schema: z.string(),
  objects: z.array(
    z.object({
      key: z.string(),
      index: z.number(),
      pod: z.string(),
      container: z.string(),
      containerType: z.string().optional(),
      previous: z.boolean(),
    }),
  ),
});

/** Where an object of a run lives: next to the manifest, by the key's part after `run-<n>/`. */
export function objectUri(manifestUri: string, key: string): string {
  const base = manifestUri.slice(0, manifestUri.lastIndexOf('/') + 1);
  const match = /(?:^|\/)run-\d+\/(.+)$/.exec(key);
  if (!match) throw new InvalidArgumentError(`archive object key '${key}' is not under a run-<n>/ prefix`);
  return `${base}${match[1]}`;
}

/** Reads archived logs from S3 (s3://bucket/key) or the filesystem (file:///path). */
export class ArchiveReader implements ArchivedLogs {
  constructor(private readonly s3?: S3Client) {}

  async stream(
    manifestUri: string,
    index: number,
    container: string,
    signal: AbortSignal,
    write: (piece: LogPiece) => Promise<void>,
  ): Promise<void> {
    const raw = await this.readAll(manifestUri, signal);
    const parsed = manifestSchema.safeParse(JSON.parse(raw.toString('utf8')));
    if (!parsed.success) throw new FailedPreconditionError(`the log manifest at ${manifestUri} is not readable`);
    const objects = parsed.data.objects
      .filter((o) => o.index === index && (container === '' ? (o.containerType ?? 'main') === 'main' || o.container === 'main' : o.container === container))
      // The previous instance first: logs in the order they were written.
      .sort((a, b) => Number(b.previous) - Number(a.previous) || a.pod.localeCompare(b.pod));
    for (const object of objects) {
      const stream = await this.open(objectUri(manifestUri, object.key), signal);
      for await (const chunk of stream) {
        await write({ pod: object.pod, container: object.container, index, data: Buffer.from(chunk as Buffer) });
      }
    }
  }

  private async readAll(uri: string, signal: AbortSignal): Promise<Buffer> {
    if (uri.startsWith('file://')) return readFile(fileURLToPath(uri), { signal });
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(uri, signal)) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }

  private async open(uri: string, signal: AbortSignal): Promise<Readable> {
    if (uri.startsWith('file://')) return createReadStream(fileURLToPath(uri), { signal });
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!match) throw new FailedPreconditionError(`unsupported archive location '${uri}'`);
    if (!this.s3) throw new FailedPreconditionError('this scheduler has no S3 archive configured');
    try {
      const result = await this.s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }), { abortSignal: signal });
      return result.Body as Readable;
    } catch (error) {
      if (statusCodeOf(error) === 404) throw new NotFoundError(`archived log ${uri} does not exist`);
      throw new UnavailableError('cannot read the log archive', { cause: error });
    }
  }
}
