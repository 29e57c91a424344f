import type { Observation } from '@wharf/contracts';
import type { ConsumedRecord } from '@wharf/platform';
import type { JobEngine } from './job-engine';

/**
 * wharf.observations → the job state machine. Observations are level-triggered facts and the
 * reducer applies each idempotently, so redelivery and reordering are harmless. A record that
 * does not decode never reaches here (the pipeline parks it in the DLQ); leadership and Kafka
 * failures are retriable and retried by the pipeline.
 */
export function observationHandler(engine: JobEngine): (record: ConsumedRecord<Observation>) => Promise<void> {
  return async (record) => {
    if (!record.message || record.message.jobId === '') return;
    await engine.observe(record.message);
  };
}
