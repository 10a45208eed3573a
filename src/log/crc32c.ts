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

/**
 * Checks the CRCs of many consecutive records with one native CRC over all their bytes instead of one CRC per
 * record: per-record CRCs were the larger part of reading a partition (bench/log-read.ts; figures in bench/RESULTS.md).
 *
 * CRC-32C without its final inversion is linear: running the register `s` over bytes m gives
 * U(s, m) = Z_|m|(s) ⊕ U(0, m), where Z_L is "run over L zero bytes", itself linear in s. A record's stored
 * CRC c = ¬U(¬0, r) therefore tells what the register becomes over r: U(s, r) = Z_|r|(¬s) ⊕ ¬c. Walking the
 * records with that (and the plain table step over their 8-byte length+CRC headers, which the record CRCs do not
 * cover) predicts the register at the end of the whole run, to be compared with one native CRC over the run.
 * If any record's bytes differ from its stored CRC, the prediction misses (except with probability ~2^-32 for
 * several damaged records cancelling out); the caller then re-checks record by record to name the bad one.
 * Z_L costs one 4-lookup step per set bit of L, with tables for L = 1, 2, 4, … bytes.
 */
export class CrcRun {
  private s = -1;
  private from = -1;
  private to = -1;

  /** Where the run ends in the buffer (-1 when empty). */
  get end(): number {
    return this.to;
  }

  /** Start a run (forgets the previous one). */
  reset(): void {
    this.s = -1;
    this.from = -1;
    this.to = -1;
  }

  /** Add the record at `buf[p, end)` (length, CRC, then the bytes the CRC covers); records must follow each other. */
  add(buf: Uint8Array, p: number, end: number): void {
    if (this.from < 0) this.from = p;
    this.to = end;
    const dv = viewOf(buf);
    const t = TABLE;
    const a = this.s ^ dv.getInt32(p, true);
    const crc = dv.getInt32(p + 4, true);
    let s =
      t[1792 + (a & 255)]! ^
      t[1536 + ((a >>> 8) & 255)]! ^
      t[1280 + ((a >>> 16) & 255)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + (crc & 255)]! ^
      t[512 + ((crc >>> 8) & 255)]! ^
      t[256 + ((crc >>> 16) & 255)]! ^
      t[crc >>> 24]!;
    s = ~s;
    const z = (zeroTables ??= buildZeroTables());
    for (let len = end - p - 8, k = 0; len > 0; len >>>= 1, k += 1024) {
      if (len & 1) s = z[k + (s & 255)]! ^ z[k + 256 + ((s >>> 8) & 255)]! ^ z[k + 512 + ((s >>> 16) & 255)]! ^ z[k + 768 + (s >>> 24)]!;
    }
    this.s = s ^ ~crc;
  }

  /** Do the bytes of the records added since `reset()` all match their stored CRCs? (`buf` as given to `add`.) */
  matches(buf: Uint8Array): boolean {
    if (this.from < 0) return true;
    const native = nativeCrc32c(new Uint8Array(buf.buffer, buf.byteOffset + this.from, this.to - this.from)) | 0;
    return ~native === this.s;
  }
}

/**
 * Byte-sliced tables of Z_(2^k) for k = 0 … 30: Z_(2^k)(v) = XOR over j of table k, slice j, byte j of v.
 * Z_1 is the table step over one zero byte; Z_(2^(k+1)) = Z_(2^k) ∘ Z_(2^k).
 */
let zeroTables: Int32Array | undefined; // built on first use (~10 ms): not every process that loads the log reads

function buildZeroTables(): Int32Array {
  const levels = 31;
  const z = new Int32Array(levels * 1024);
  const apply = (k: number, v: number) =>
    z[k * 1024 + (v & 255)]! ^ z[k * 1024 + 256 + ((v >>> 8) & 255)]! ^ z[k * 1024 + 512 + ((v >>> 16) & 255)]! ^ z[k * 1024 + 768 + (v >>> 24)]!;
  for (let k = 0; k < levels; k++) {
    const columns = new Int32Array(32);
    for (let bit = 0; bit < 32; bit++) {
      const v = 1 << bit;
      columns[bit] = k === 0 ? TABLE[v & 255]! ^ (v >>> 8) : apply(k - 1, apply(k - 1, v));
    }
    for (let slice = 0; slice < 4; slice++) {
      for (let b = 0; b < 256; b++) {
        let x = 0;
        for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) x ^= columns[slice * 8 + bit]!;
        z[k * 1024 + slice * 256 + b] = x;
      }
    }
  }
  return z;
}
