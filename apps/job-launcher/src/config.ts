import { commonConfigShape, kafkaConfigShape, kubeConfigShape } from '@wharf/platform';
import { z } from 'zod';

/** Every setting of job-launcher, declared once (flag, env var and docs derive from it). */
export const jobLauncherConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...kubeConfigShape,
});
export type JobLauncherConfig = z.infer<typeof jobLauncherConfigSchema>;
