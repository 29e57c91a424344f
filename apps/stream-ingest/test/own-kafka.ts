/**
 * A Kafka broker of the test's own, for tests that kill, restart or freeze it (the run's shared
 * broker must stay up for the other tests). Uses the harness's startKafka directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInstalled } from '@wharf/testing';
import { startKafka, type KafkaServer } from '@wharf/testing';

export async function startOwnKafka(): Promise<KafkaServer & { cleanup(): Promise<void> }> {
  const workDir = mkdtempSync(join(tmpdir(), 'stream-ingest-kafka-'));
  const server = await startKafka({ installDir: ensureInstalled('kafka'), workDir });
  return {
    ...server,
    cleanup: async () => {
      await server.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
