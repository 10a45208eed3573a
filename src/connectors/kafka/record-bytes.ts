import type { RawRecordBytes } from '../../source/source.js';

/**
 * Keys and values as positions into the buffers kafkajs decoded them from (RawRecordBytes), so the JSON decoder
 * takes its chunk paths (four bytes at a time, one DataView per buffer) instead of one small Buffer per value:
 * kafkajs's values are slices of the fetch response (or of a decompressed record batch), so a batch's values lie in
 * a few large buffers. No copy. Undefined when a record's key and value lie in different buffers (RawRecordBytes has
 * one buffer per record): the decoder then reads the values one by one, as before.
 */
export function kafkaRecordBytes(keys: readonly (Uint8Array | null)[], values: readonly (Uint8Array | null)[]): RawRecordBytes | undefined {
  const n = values.length;
  const chunks: Uint8Array[] = [];
  const chunkIndex = new Map<ArrayBufferLike, number>();
  const chunkOf = new Uint32Array(n);
  const keyStart = new Uint32Array(n);
  const keyLength = new Int32Array(n);
  const valueStart = new Uint32Array(n);
  const valueLength = new Int32Array(n);
  let lastBuffer: ArrayBufferLike | undefined;
  let lastIndex = 0;
  const indexOf = (buffer: ArrayBufferLike): number => {
    if (buffer === lastBuffer) return lastIndex;
    let index = chunkIndex.get(buffer);
    if (index === undefined) {
      index = chunks.length;
      chunks.push(new Uint8Array(buffer));
      chunkIndex.set(buffer, index);
    }
    lastBuffer = buffer;
    lastIndex = index;
    return index;
  };
  for (let i = 0; i < n; i++) {
    const key = keys[i] ?? null;
    const value = values[i] ?? null;
    const home = value ?? key;
    if (home === null) {
      keyLength[i] = -1;
      valueLength[i] = -1;
      continue;
    }
    const c = indexOf(home.buffer);
    chunkOf[i] = c;
    if (key !== null && key.buffer !== home.buffer) return undefined;
    keyStart[i] = key?.byteOffset ?? 0;
    keyLength[i] = key?.length ?? -1;
    valueStart[i] = value?.byteOffset ?? 0;
    valueLength[i] = value?.length ?? -1;
  }
  return { chunks, chunkOf, keyStart, keyLength, valueStart, valueLength };
}
