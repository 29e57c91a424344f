import { z } from 'zod';

/**
 * `manifest.json`: one per run, written after every log object was written and verified, so
 * its presence means "this run's archive is complete". Readers verify an object against its
 * `bytes`/`sha256`; `missing` lists every log that could not be archived, with the reason.
 * Version changes are additive; `schema` names the format.
 */
export const ManifestSchemaId = 'wharf.dev/log-archive-manifest/v1';

/** Why a log is not in the archive. Explicit, so a missing log is never silent. */
export const MissingReasons = {
  /** No pod of this index existed when the archiver looked (never created, or deleted). */
  noPod: 'NoPod',
  /** The pod was listed but was gone when its log was read. */
  podGone: 'PodGone',
  /** The container (instance) never started, so it has no log. */
  containerNeverStarted: 'ContainerNeverStarted',
  /** The previous instance's log was no longer kept by Kubernetes. */
  previousUnavailable: 'PreviousUnavailable',
  /** The API refused or failed to serve the log. */
  logUnavailable: 'LogUnavailable',
  /**
   * The pod template uses the job's own Secret but the Secret is gone, so the log cannot be
   * redacted: it is not archived rather than archived with secrets in it.
   */
  redactionUnavailable: 'RedactionUnavailable',
} as const;
export type MissingReason = (typeof MissingReasons)[keyof typeof MissingReasons];

export type ContainerType = 'init' | 'sidecar' | 'main';

const missingLogSchema = z.object({
  index: z.number().int().min(0),
  pod: z.string().optional(),
  container: z.string(),
  previous: z.boolean(),
  reason: z.enum(MissingReasons),
  detail: z.string().optional(),
});

const manifestObjectSchema = z.object({
  key: z.string(),
  index: z.number().int().min(0),
  pod: z.string(),
  podUid: z.string(),
  container: z.string(),
  containerType: z.enum(['init', 'sidecar', 'main'] as const satisfies readonly ContainerType[]),
  previous: z.boolean(),
  /** False when the container was still running when its log was read (a cancelled run). */
  complete: z.boolean(),
  bytes: z.number().int().min(0),
  lines: z.number().int().min(0),
  /** Hex SHA-256 of the stored (redacted) bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Secret values replaced in this log (how many, never which). */
  redactions: z.number().int().min(0),
});

export const runManifestSchema = z.object({
  schema: z.literal(ManifestSchemaId),
  namespace: z.string(),
  jobId: z.string(),
  run: z.number().int().min(0),
  jobName: z.string(),
  jobUid: z.string(),
  tenant: z.string(),
  outcome: z.enum(['Complete', 'Failed', 'Cancelled']),
  archivedAt: z.string(),
  objects: z.array(manifestObjectSchema),
  missing: z.array(missingLogSchema),
  totals: z.object({
    objects: z.number().int().min(0),
    bytes: z.number().int().min(0),
    lines: z.number().int().min(0),
    missing: z.number().int().min(0),
    redactions: z.number().int().min(0),
  }),
});

export type RunManifest = z.infer<typeof runManifestSchema>;
export type ManifestObject = z.infer<typeof manifestObjectSchema>;
export type ManifestMissingLog = z.infer<typeof missingLogSchema>;

export interface ManifestInput {
  readonly namespace: string;
  readonly jobId: string;
  readonly run: number;
  readonly jobName: string;
  readonly jobUid: string;
  readonly tenant: string;
  readonly outcome: RunManifest['outcome'];
  readonly archivedAt: Date;
  readonly objects: readonly ManifestObject[];
  readonly missing: readonly ManifestMissingLog[];
}

/** Builds the manifest with entries in a stable order and totals that add up. */
export function buildManifest(input: ManifestInput): RunManifest {
  const objects = [...input.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const missing = [...input.missing].sort(
    (a, b) =>
      a.index - b.index ||
      (a.pod ?? '').localeCompare(b.pod ?? '') ||
      a.container.localeCompare(b.container) ||
      Number(a.previous) - Number(b.previous),
  );
  return {
    schema: ManifestSchemaId,
    namespace: input.namespace,
    jobId: input.jobId,
    run: input.run,
    jobName: input.jobName,
    jobUid: input.jobUid,
    tenant: input.tenant,
    outcome: input.outcome,
    archivedAt: input.archivedAt.toISOString(),
    objects,
    missing,
    totals: {
      objects: objects.length,
      bytes: objects.reduce((n, o) => n + o.bytes, 0),
      lines: objects.reduce((n, o) => n + o.lines, 0),
      missing: missing.length,
      redactions: objects.reduce((n, o) => n + o.redactions, 0),
    },
  };
}

export function serializeManifest(manifest: RunManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

/** Parses a stored manifest; undefined when it is not a valid v1 manifest. */
export function parseManifest(data: Buffer): RunManifest | undefined {
  try {
    const result = runManifestSchema.safeParse(JSON.parse(data.toString('utf8')));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
