import type { LogArchiverConfig } from '../config';
import { bytesPerMiB } from '../config';
import type { ArchiveStore } from './archive-store';
import { FilesystemStore } from './filesystem-store';
import { S3Store } from './s3-store';
import { UnconfiguredStore } from './unconfigured-store';

/**
 * The configured archive store. An incomplete S3 configuration gives an
 * {@link UnconfiguredStore}: the archiver runs and holds finalizers, visibly failing
 * (ArchiveFailed reason StoreNotConfigured, metrics), instead of refusing to start or — as
 * pygeoapi-k8s-manager did — silently doing nothing.
 */
export function createArchiveStore(config: LogArchiverConfig['archive']): ArchiveStore {
  if (config.store === 'filesystem') {
    return new FilesystemStore({ root: config.filesystem.root, fsync: config.filesystem.fsync });
  }
  const s3 = config.s3;
  const problems: string[] = [];
  if (!s3.bucket) problems.push('archive.s3.bucket is not set');
  if (Boolean(s3.accessKeyId) !== Boolean(s3.secretAccessKey)) {
    problems.push('set both archive.s3.accessKeyId and archive.s3.secretAccessKey, or neither');
  }
  if (problems.length > 0 || !s3.bucket) return new UnconfiguredStore(problems);
  return new S3Store({
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    region: s3.region,
    bucket: s3.bucket,
    ...(s3.accessKeyId && s3.secretAccessKey
      ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
      : {}),
    forcePathStyle: s3.forcePathStyle,
    partSizeBytes: s3.partSizeMiB * bytesPerMiB,
    queueSize: s3.queueSize,
    verifyEtag: s3.verifyEtag,
    expectContinue: s3.expectContinue,
    signPayload: s3.signPayload,
    maxSockets: Math.max(64, config.maxStreams * s3.queueSize * 2),
  });
}
