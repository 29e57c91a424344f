import { ContentTypes, decodeMessage, Observation, Topics } from '@wharf/contracts';
import { createLogger, type ProducerRecord } from '@wharf/platform';
import { ObservationPublisher } from './observation-publisher';

const logger = createLogger({ service: 'test', level: 'silent' });
const obs = (jobId: string, fact: string) => ({
  key: `${jobId}/1/${fact}`,
  observation: { jobId, run: 1, observedAt: new Date(0), source: 'job-launcher', started: {} } as Observation,
});

describe('ObservationPublisher', () => {
  it('sends protobuf records keyed by job id, once per fact, after the broker acknowledged', async () => {
    const sent: { topic: string; records: readonly ProducerRecord[] }[] = [];
    let fail = true;
    const publisher = new ObservationPublisher({
      logger,
      runsLimit: 10,
      sender: {
        send: async (topic, records) => {
          if (fail) throw new Error('broker down');
          sent.push({ topic, records });
          return [];
        },
      },
    });
    await expect(publisher.publish([obs('a', 'started')])).rejects.toThrow('broker down');
    expect(publisher.has('a/1/started')).toBe(false);
    fail = false;
    expect(await publisher.publish([obs('a', 'started'), obs('a', 'index/0')])).toBe(2);
    expect(await publisher.publish([obs('a', 'started'), obs('a', 'index/0')])).toBe(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topic).toBe(Topics.observations);
    const record = sent[0]?.records[0];
    expect(record?.key).toBe('a');
    expect(record?.headers?.['content-type']).toBe(ContentTypes.protobuf);
    expect(decodeMessage(Observation, 'Observation', record?.value ?? Buffer.alloc(0), ContentTypes.protobuf).jobId).toBe('a');
    publisher.forget('a', 1);
    expect(publisher.has('a/1/started')).toBe(false);
  });

  it('forgets the least recently used runs beyond its limit', async () => {
    const publisher = new ObservationPublisher({ logger, runsLimit: 2, sender: { send: async () => [] } });
    await publisher.publish([obs('a', 'created')]);
    await publisher.publish([obs('b', 'created')]);
    await publisher.publish([obs('a', 'started')]);
    await publisher.publish([obs('c', 'created')]);
    expect(publisher.has('a/1/created')).toBe(true);
    expect(publisher.has('b/1/created')).toBe(false);
    expect(publisher.has('c/1/created')).toBe(true);
  });
});
