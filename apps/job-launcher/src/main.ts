import { createLogger, createMetricsRegistry, Lifecycle, loadConfig, OpsServer, serviceMain } from '@wharf/platform';
import { jobLauncherConfigSchema } from './config';
import { composeJobLauncher } from './job-launcher-service';

// Composition root: config → logger → components → lifecycle → start. No logic here.
serviceMain('job-launcher', jobLauncherConfigSchema, async () => {
  const config = loadConfig(jobLauncherConfigSchema, { env: process.env, argv: process.argv.slice(2) });
  const logger = createLogger({ service: 'job-launcher', level: config.logLevel });
  const metrics = createMetricsRegistry('job-launcher');
  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: config.shutdownTimeoutMs });

  // Registered first, so it stops last and reports not-ready during the drain.
  lifecycle.register(new OpsServer({ ...config.ops, registry: metrics, isReady: () => lifecycle.isReady() }));
  for (const component of composeJobLauncher(config, { logger, registry: metrics }).components) {
    lifecycle.register(component);
  }

  lifecycle.handleSignals();
  await lifecycle.start();
});
