import { commonConfigShape, kafkaConfigShape, kubeConfigShape } from '@wharf/platform';
import { z } from 'zod';

/** Every setting of the scheduler, declared once (flag, env var and docs derive from it). */
export const schedulerConfigSchema = z.object({
  ...commonConfigShape,
  ...kafkaConfigShape,
  ...kubeConfigShape,
  grpc: z
    .object({
      host: z.string().default('127.0.0.1').describe('Address the gRPC API listens on.'),
      port: z.number().int().min(0).max(65535).default(50051).describe('Port of the gRPC API.'),
    })
    .prefault({}),
});
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;
