import { createLogger, createMetricsRegistry, Lifecycle, loadConfig, OpsServer, serviceMain } from '@wharf/platform';
import { logArchiverConfigSchema } from './config';
import { composeLogArchiver } from './log-archiver-service';

// Composition root: config → logger → components → lifecycle → start. No logic here.
serviceMain('log-archiver', logArchiverConfigSchema, async () => {
  const config = loadConfig(logArchiverConfigSchema, { env: process.env, argv: process.argv.slice(2) });
  const logger = createLogger({ service: 'log-archiver', level: config.logLevel });
  const metrics = createMetricsRegistry('log-archiver');
  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: config.shutdownTimeoutMs });

  // Registered first, so it stops last and reports not-ready during the drain.
  lifecycle.register(new OpsServer({ ...config.ops, registry: metrics, isReady: () => lifecycle.isReady() }));
  for (const component of composeLogArchiver(config, { logger, registry: metrics }).components) {
    lifecycle.register(component);
  }

  lifecycle.handleSignals();
  await lifecycle.start();
});
