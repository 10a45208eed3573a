import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C of `buf[start, end)` without allocating: the same function as `checksum()` in util/crc.ts
 * (Castagnoli), but callable on a range of a large chunk. Short ranges (most records) are hashed in JS
 * with slicing-by-8 tables, which beats an N-API call plus a view per record; long ones go native.
 */
export function crc32cRange(buf: Uint8Array, start: number, end: number): number {
  if (end - start > NATIVE_THRESHOLD) {
    return nativeCrc32c(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start)) >>> 0;
  }
  const t = TABLE;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      t[1792 + (a & 255)]! ^
      t[1536 + ((a >>> 8) & 255)]! ^
      t[1280 + ((a >>> 16) & 255)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 255]! ^ (c >>> 8);
  return ~c >>> 0;
}

const NATIVE_THRESHOLD = 256;

const TABLE = buildTable();

function buildTable(): Int32Array {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 255]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}
