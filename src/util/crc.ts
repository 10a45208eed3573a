import { crc32c } from '@node-rs/crc32';

/** CRC-32C (Castagnoli, as Kafka record batches use), hardware-accelerated by @node-rs/crc32. */
export function checksum(data: Uint8Array | string): number {
  return crc32c(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
}
