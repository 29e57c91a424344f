import { commonConfigShape, kafkaConfigShape, kubeConfigShape } from '@wharf/platform';
import { z } from 'zod';

/** Every setting of stream-ingest, declared once (flag, env var and docs derive from it). */
export const streamIngestConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...kubeConfigShape,
});
export type StreamIngestConfig = z.infer<typeof streamIngestConfigSchema>;
