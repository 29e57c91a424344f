/**
 * Protobuf bytes kept as a one-byte (latin1) string. The store and the event hub hold every
 * job and event this way: a string is one leaf object on the heap, which the garbage collector
 * marks without looking inside, where a Uint8Array is two objects plus an off-heap backing
 * store (about twice the memory for a record of ~200 bytes) and a decoded message is dozens of
 * objects. See ADR 0012.
 */
export type Packed = string & { readonly __packed: unique symbol };

export function pack(bytes: Uint8Array): Packed {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1') as Packed;
}

export function unpack(packed: Packed): Buffer {
  return Buffer.from(packed, 'latin1');
}
