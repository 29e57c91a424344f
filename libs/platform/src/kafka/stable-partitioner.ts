import { Partitioners, type ICustomPartitioner } from 'kafkajs';

const EMPTY = Buffer.alloc(0);

/**
 * kafkajs' default partitioner (murmur2 of the key, the Java client's choice), except that a
 * keyless record goes where murmur2 of its value sends it, instead of round-robin, so that it
 * gets the same partition on every retry.
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
 * Hashing the value keeps no state (an earlier version remembered each value in a WeakMap:
 * ~0.5 µs and GC work per record at stream-ingest's rates) and holds for a caller's own retry
 * with new objects too. Records with equal values share a partition, which a keyless record
 * may land on anyway.
 */
export const StablePartitioner: ICustomPartitioner = () => {
  const inner = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message } = args;
    if ((message.partition !== undefined && message.partition !== null) || (message.key !== undefined && message.key !== null)) {
      return inner(args);
    }
    const value = message.value ?? EMPTY;
    return inner({ topic: args.topic, partitionMetadata: args.partitionMetadata, message: { key: value, value } });
  };
};
