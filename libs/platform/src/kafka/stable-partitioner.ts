import { Partitioners, type ICustomPartitioner } from 'kafkajs';

/**
 * kafkajs' default partitioner (murmur2 of the key, the Java client's choice), except that a
 * keyless record keeps the partition it was first given, across retries.
 *
 * Why: kafkajs partitions a send again on every retry, and keyless records go round-robin, so
 * a retried send spreads the same records over the partitions differently. After a request
 * that the broker wrote only in part (one partition's answer lost while the broker was
 * stopped, say), kafkajs rolls back the sequence numbers of every partition of the request;
 * the retry then sends partition A's new share under the sequence number of the share A
 * already holds, and the broker drops it as a duplicate while acknowledging it. Seen in the
 * stream-ingest freeze benchmark: 667 records of a 2,000-record batch written twice (once in
 * each of two partitions) and 667 others acknowledged but never written.
 *
 * A record is recognised by its value Buffer (the same object on kafkajs' own retries and on a
 * caller's retry of the same records), else by the kafkajs message object.
 */
export const StablePartitioner: ICustomPartitioner = () => {
  const inner = Partitioners.DefaultPartitioner();
  const given = new WeakMap<object, number>();
  return (args) => {
    const { message } = args;
    if ((message.partition !== undefined && message.partition !== null) || (message.key !== undefined && message.key !== null)) {
      return inner(args);
    }
    const identity: object = typeof message.value === 'object' && message.value !== null ? message.value : message;
    const before = given.get(identity);
    if (before !== undefined && before < args.partitionMetadata.length) return before;
    const partition = inner(args);
    given.set(identity, partition);
    return partition;
  };
};
