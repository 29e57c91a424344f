import { commonConfigShape, kafkaConfigShape, kubeConfigShape } from '@wharf/platform';
import { z } from 'zod';

/** Every setting of log-archiver, declared once (flag, env var and docs derive from it). */
export const logArchiverConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...kubeConfigShape,
});
export type LogArchiverConfig = z.infer<typeof logArchiverConfigSchema>;
