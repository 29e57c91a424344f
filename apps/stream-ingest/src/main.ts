import { readFileSync } from 'node:fs';
import { createLogger, createMetricsRegistry, Lifecycle, loadConfig, OpsServer, serviceMain } from '@wharf/platform';
import { systemClock } from '@wharf/platform';
import { streamIngestConfigSchema } from './config';
import { standaloneSpecs } from './standalone-streams';
import { composeStreamIngest } from './stream-ingest-app';

// Composition root: config → logger → components → lifecycle → start. No logic here.
serviceMain('stream-ingest', streamIngestConfigSchema, async () => {
  const config = loadConfig(streamIngestConfigSchema, { env: process.env, argv: process.argv.slice(2) });
  const standalone = standaloneSpecs(config.streams, (path) => readFileSync(path, 'utf8'));
  const logger = createLogger({ service: 'stream-ingest', level: config.logLevel });
  const metrics = createMetricsRegistry('stream-ingest');
  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: config.shutdownTimeoutMs });

  // Registered first, so it stops last and reports not-ready during the drain.
  lifecycle.register(new OpsServer({ ...config.ops, registry: metrics, isReady: () => lifecycle.isReady() }));
  const app = composeStreamIngest(config, { logger, metrics, clock: systemClock, standalone });
  for (const component of app.components) lifecycle.register(component);

  lifecycle.handleSignals();
  await lifecycle.start();
});
