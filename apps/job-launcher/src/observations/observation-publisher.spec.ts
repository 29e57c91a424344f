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

describe('ObservationPublisher batching', () => {
  /** A sender whose sends finish when the test says so. */
  function gatedSender(fail: (records: readonly ProducerRecord[]) => Error | undefined = () => undefined) {
    const sends: { records: readonly ProducerRecord[]; finish: () => void }[] = [];
    return {
      sends,
      sender: {
        send: (_topic: string, records: readonly ProducerRecord[]) =>
          new Promise<[]>((resolve, reject) => {
            sends.push({
              records,
              finish: () => {
                const error = fail(records);
                if (error) reject(error);
                else resolve([]);
              },
            });
          }),
      },
    };
  }
  const keys = (records: readonly ProducerRecord[]) => records.map((r) => String(r.key));

  it('joins the publishes that wait for an in-flight send into one send, in call order', async () => {
    const { sends, sender } = gatedSender();
    const publisher = new ObservationPublisher({ logger, runsLimit: 100, sender });
    const first = publisher.publish([obs('a', 'created')]);
    const waiting = [publisher.publish([obs('b', 'created'), obs('b', 'started')]), publisher.publish([obs('c', 'created')])];
    expect(sends).toHaveLength(1);
    expect(publisher.has('a/1/created')).toBe(false); // not before the broker acknowledged
    sends[0]?.finish();
    expect(await first).toBe(1);
    expect(sends).toHaveLength(2);
    expect(keys(sends[1]?.records ?? [])).toEqual(['b', 'b', 'c']);
    sends[1]?.finish();
    expect(await Promise.all(waiting)).toEqual([2, 1]);
    expect(publisher.has('b/1/started') && publisher.has('c/1/created')).toBe(true);
  });

  it('after a joined send failed, sends each caller alone: only the one with the bad record fails', async () => {
    const bad = (records: readonly ProducerRecord[]) => (keys(records).includes('bad') ? new Error('record too large') : undefined);
    const { sends, sender } = gatedSender(bad);
    const publisher = new ObservationPublisher({ logger, runsLimit: 100, sender });
    const first = publisher.publish([obs('a', 'created')]);
    const good = publisher.publish([obs('b', 'created')]);
    const poisoned = publisher.publish([obs('bad', 'created')]);
    sends[0]?.finish();
    await first;
    sends[1]?.finish(); // b + bad together: fails
    await new Promise((r) => setImmediate(r));
    expect(keys(sends[2]?.records ?? [])).toEqual(['b']);
    sends[2]?.finish();
    await new Promise((r) => setImmediate(r));
    expect(keys(sends[3]?.records ?? [])).toEqual(['bad']);
    sends[3]?.finish();
    expect(await good).toBe(1);
    await expect(poisoned).rejects.toThrow('record too large');
    expect(publisher.has('b/1/created')).toBe(true);
    expect(publisher.has('bad/1/created')).toBe(false);
  });

  it('keeps a joined send under maxBatchBytes (a larger single publish still goes alone)', async () => {
    const { sends, sender } = gatedSender();
    const publisher = new ObservationPublisher({ logger, runsLimit: 100, sender, maxBatchBytes: 1 });
    const all = [publisher.publish([obs('a', 'created')]), publisher.publish([obs('b', 'created')]), publisher.publish([obs('c', 'created')])];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      expect(sends[i]?.records).toHaveLength(1);
      sends[i]?.finish();
    }
    expect(await Promise.all(all)).toEqual([1, 1, 1]);
  });
});
