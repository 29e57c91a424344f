import { createLogger, createMetricsRegistry, Lifecycle, loadConfig, OpsServer, serviceMain } from '@wharf/platform';
import { schedulerConfigSchema } from './config';
import { buildScheduler } from './scheduler-setup';

// Composition root: config → logger → components → lifecycle → start. No logic here.
serviceMain('scheduler', schedulerConfigSchema, async () => {
  const config = loadConfig(schedulerConfigSchema, { env: process.env, argv: process.argv.slice(2) });
  const logger = createLogger({ service: 'scheduler', level: config.logLevel });
  const metrics = createMetricsRegistry('scheduler');
  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: config.shutdownTimeoutMs });

  // Registered first, so it stops last and reports not-ready during the drain.
  lifecycle.register(new OpsServer({ ...config.ops, registry: metrics, isReady: () => lifecycle.isReady() }));
  const scheduler = buildScheduler({
    config,
    logger,
    registry: metrics,
    // A fenced writer exits: a fresh process rejoins cleanly as a standby.
    onFenced: () => void lifecycle.stop().then(() => process.exit(1)),
  });
  for (const component of scheduler.components) lifecycle.register(component);

  lifecycle.handleSignals();
  await lifecycle.start();
});
