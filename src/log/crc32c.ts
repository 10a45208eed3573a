import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C of `buf[start, end)` without allocating: the same function as `checksum()` in util/crc.ts
 * (Castagnoli), but callable on a range of a large chunk, as the log does once per record.
 *
 * Why JS and not @node-rs/crc32 for records: measured here on ~270-byte ranges, a native call costs ~250 ns
 * (a view per call plus the N-API crossing) whereas this slicing-by-8 loop, reading 32-bit words through a
 * DataView, costs ~180 ns (the byte-wise version it replaced: ~300 ns). Past NATIVE_THRESHOLD bytes the
 * native code's per-byte speed (~0.2 ns vs ~0.7 ns) wins.
 */
export function crc32cRange(buf: Uint8Array, start: number, end: number): number {
  if (end - start > NATIVE_THRESHOLD) {
    return nativeCrc32c(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start)) >>> 0;
  }
  return crc32cWords(viewOf(buf), start, end);
}

let lastBuf: Uint8Array | undefined;
let lastView: DataView = new DataView(new ArrayBuffer(0));

/** A DataView over `buf`, reused while callers keep passing the same buffer (one per record would cost more than the CRC). */
function viewOf(buf: Uint8Array): DataView {
  if (buf !== lastBuf) {
    lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    lastBuf = buf;
  }
  return lastView;
}

function crc32cWords(dv: DataView, start: number, end: number): number {
  const t = TABLE;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ dv.getInt32(i, true);
    const b = dv.getInt32(i + 4, true);
    c =
      t[1792 + (a & 255)]! ^
      t[1536 + ((a >>> 8) & 255)]! ^
      t[1280 + ((a >>> 16) & 255)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + (b & 255)]! ^
      t[512 + ((b >>> 8) & 255)]! ^
      t[256 + ((b >>> 16) & 255)]! ^
      t[b >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ dv.getUint8(i)) & 255]! ^ (c >>> 8);
  return ~c >>> 0;
}

const NATIVE_THRESHOLD = 512;

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
