import { descriptorSetBase64 } from '@wharf/contracts';
import {
  createLogger,
  createMetricsRegistry,
  GrpcServer,
  Lifecycle,
  loadConfig,
  OpsServer,
  serviceMain,
} from '@wharf/platform';
import { schedulerConfigSchema } from './config';

// Composition root: config → logger → components → lifecycle → start. No logic here.
serviceMain('scheduler', schedulerConfigSchema, async () => {
  const config = loadConfig(schedulerConfigSchema, { env: process.env, argv: process.argv.slice(2) });
  const logger = createLogger({ service: 'scheduler', level: config.logLevel });
  const metrics = createMetricsRegistry('scheduler');
  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: config.shutdownTimeoutMs });

  // Registered first, so it stops last and reports not-ready during the drain.
  lifecycle.register(new OpsServer({ ...config.ops, registry: metrics, isReady: () => lifecycle.isReady() }));
  lifecycle.register(new GrpcServer({ ...config.grpc, logger, services: [], descriptorSetBase64 }));

  lifecycle.handleSignals();
  await lifecycle.start();
});
