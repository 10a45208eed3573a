import { userError } from '../errors.js';
import { crc32cRange } from './crc32c.js';

/**
 * One record on disk (all integers little-endian):
 *
 * ```
 *  0  u32  length      bytes after this field (crc .. end of headers)
 *  4  u32  crc         CRC-32C of bytes [8, 4 + length)
 *  8  i64  offset      absolute offset in the partition
 * 16  f64  timestamp   ms since the epoch
 * 24  i32  key length  -1 = null key, then the key bytes
 *  …  i32  value length  -1 = null value, then the value bytes
 *  …  u32  header count, then per header: u16 name length, UTF-8 name, u32 value length, value bytes
 * ```
 */
export const RECORD_OVERHEAD = 36;
/** Smallest legal value of the length field (no key, no value, no headers). */
export const MIN_LENGTH = RECORD_OVERHEAD - 4;
/** Largest legal value of the length field; anything bigger is a damaged length, not a record. */
export const MAX_LENGTH = 1 << 30;

/** What an appender hands in: strings are stored as UTF-8. */
export interface AppendRecord {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  /** ms since the epoch; default `Date.now()` at append time. */
  timestamp?: number;
  headers?: ReadonlyArray<readonly [string, Uint8Array | string]>;
}

/** A batch encoded for one write: the bytes and where each record starts in them. */
export interface EncodedBatch {
  readonly bytes: Buffer;
  readonly starts: Uint32Array;
}

/** Encode `records` with offsets `baseOffset, baseOffset + 1, …` into one buffer. */
export function encodeBatch(records: readonly AppendRecord[], baseOffset: number, now: number): EncodedBatch {
  let total = 0;
  for (const r of records) total += encodedSize(r);
  const out = Buffer.allocUnsafeSlow(total);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const starts = new Uint32Array(records.length);
  let p = 0;
  for (let i = 0; i < records.length; i++) {
    starts[i] = p;
    p = writeRecord(out, dv, p, records[i]!, baseOffset + i, now);
  }
  return { bytes: out, starts };
}

function byteLength(v: Uint8Array | string): number {
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.byteLength;
}

function encodedSize(r: AppendRecord): number {
  let size = RECORD_OVERHEAD;
  if (r.key != null) size += byteLength(r.key);
  if (r.value != null) size += byteLength(r.value);
  if (r.headers) {
    for (const [name, value] of r.headers) size += 6 + Buffer.byteLength(name, 'utf8') + byteLength(value);
  }
  if (size - 4 > MAX_LENGTH) throw tooLarge(size);
  return size;
}

function tooLarge(size: number): Error {
  return userError(`a record of ${size} bytes is larger than the ${MAX_LENGTH}-byte limit of the log`, 'split the value into smaller records');
}

function writeBytes(out: Buffer, p: number, v: Uint8Array | string): number {
  if (typeof v === 'string') return p + out.write(v, p, 'utf8');
  out.set(v, p);
  return p + v.byteLength;
}

function writeNullable(out: Buffer, dv: DataView, p: number, v: Uint8Array | string | null | undefined): number {
  if (v == null) {
    dv.setInt32(p, -1, true);
    return p + 4;
  }
  const end = writeBytes(out, p + 4, v);
  dv.setInt32(p, end - p - 4, true);
  return end;
}

function writeRecord(out: Buffer, dv: DataView, start: number, r: AppendRecord, offset: number, now: number): number {
  const ts = r.timestamp ?? now;
  if (!Number.isFinite(ts)) throw userError(`record timestamp ${ts} is not a finite number of ms since the epoch`);
  dv.setFloat64(start + 16, ts, true);
  let p = writeNullable(out, dv, start + 24, r.key);
  p = writeNullable(out, dv, p, r.value);
  const headers = r.headers ?? [];
  dv.setUint32(p, headers.length, true);
  p += 4;
  for (const [name, value] of headers) {
    const nameEnd = out.write(name, p + 2, 'utf8') + p + 2;
    if (nameEnd - p - 2 > 0xffff) throw userError(`header name "${name.slice(0, 40)}…" is longer than 65535 bytes`);
    dv.setUint16(p, nameEnd - p - 2, true);
    const valueEnd = writeBytes(out, nameEnd + 4, value);
    dv.setUint32(nameEnd, valueEnd - nameEnd - 4, true);
    p = valueEnd;
  }
  dv.setUint32(start, p - start - 4, true);
  sealRecord(out, dv, start, p, offset);
  return p;
}

/** Fill in the offset and then the CRC of the otherwise complete record at `buf[start, end)`. */
function sealRecord(buf: Uint8Array, dv: DataView, start: number, end: number, offset: number): void {
  dv.setUint32(start + 8, offset % 0x1_0000_0000, true);
  dv.setUint32(start + 12, Math.floor(offset / 0x1_0000_0000), true);
  dv.setUint32(start + 4, crc32cRange(buf, start + 8, end), true);
}

/**
 * Records a producer framed itself (see `frameKeylessRecord`), written back to back: what `appendFramed`
 * takes. Offsets and CRCs are left for the appender, which alone knows the offsets.
 */
export interface FramedRecords {
  readonly bytes: Uint8Array;
  /** Where record i starts in `bytes`: 0 for the first, each one where the previous ends. */
  readonly starts: ArrayLike<number>;
  readonly count: number;
}

/** Where the value of a keyless record starts, from the record start (length, crc, offset, timestamp, key length -1, value length). */
export const KEYLESS_VALUE_START = 32;
/** Bytes after the value of a record without headers (the header count, 0). */
export const HEADERLESS_TRAILER = 4;

/**
 * Frame a keyless, headerless record whose value the caller wrote at `buf[start + KEYLESS_VALUE_START, valueEnd)`:
 * write its length, timestamp, key length (-1), value length and header count (0). Returns where it ends.
 * This lets a producer write values straight into the bytes the log will write (no object or copy per record).
 */
export function frameKeylessRecord(dv: DataView, start: number, valueEnd: number, timestamp: number): number {
  const end = valueEnd + HEADERLESS_TRAILER;
  dv.setUint32(start, end - start - 4, true);
  dv.setFloat64(start + 16, timestamp, true);
  dv.setInt32(start + 24, -1, true);
  dv.setInt32(start + 28, valueEnd - start - KEYLESS_VALUE_START, true);
  dv.setUint32(valueEnd, 0, true);
  return end;
}

/**
 * Check that `records` are whole records back to back whose fields fit their lengths, then fill in offsets
 * `baseOffset, baseOffset + 1, …` and the CRCs. Throws, naming the record, if the framing is wrong: a framing
 * bug must never reach the disk, where it would read as corruption.
 */
export function sealFramed(records: FramedRecords, baseOffset: number): void {
  const { bytes, starts, count } = records;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const start = starts[i]!;
    const expected = i === 0 ? 0 : starts[i - 1]! + 4 + dv.getUint32(starts[i - 1]!, true);
    if (start !== expected || start + 4 > bytes.byteLength) throw badFraming(i, `starts at byte ${start}, expected ${expected}`);
    const length = dv.getUint32(start, true);
    if (length < MIN_LENGTH || length > MAX_LENGTH) throw badFraming(i, `has the impossible length ${length}`);
    const end = start + 4 + length;
    if (end > bytes.byteLength || !fieldsFit(dv, start, end)) throw badFraming(i, 'has fields that do not fit its length');
    sealRecord(bytes, dv, start, end, baseOffset + i);
  }
  const last = count === 0 ? 0 : starts[count - 1]! + 4 + dv.getUint32(starts[count - 1]!, true);
  if (last !== bytes.byteLength) throw badFraming(count - 1, `ends at byte ${last} of ${bytes.byteLength}`);
}

function badFraming(i: number, what: string): Error {
  return userError(`appendFramed: record ${i} ${what}; nothing was written`, 'frame records with frameKeylessRecord, back to back from byte 0');
}

/** Do the key, value and headers of the record at `[start, end)` exactly fill it? */
export function fieldsFit(dv: DataView, start: number, end: number): boolean {
  let q = start + 24;
  for (let f = 0; f < 2; f++) {
    if (q + 4 > end) return false;
    const len = dv.getInt32(q, true);
    if (len < -1) return false;
    q += 4 + (len > 0 ? len : 0);
  }
  if (q + 4 > end) return false;
  const headers = dv.getUint32(q, true);
  q += 4;
  for (let h = 0; h < headers; h++) {
    if (q + 2 > end) return false;
    q += 2 + dv.getUint16(q, true);
    if (q + 4 > end) return false;
    q += 4 + dv.getUint32(q, true);
  }
  return q === end;
}

/** `recordAt` results that are not a record size. */
export const INCOMPLETE = -1;
export const BAD_LENGTH = -2;
export const BAD_CRC = -3;

export function readU32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

export function readI32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** The offset field of the record at `p` (offsets stay far below 2^53). */
export function readOffset(b: Uint8Array, p: number): number {
  return readU32(b, p + 8) + readU32(b, p + 12) * 0x1_0000_0000;
}

/**
 * Size in bytes of the record starting at `b[p]` if it is whole within `b[p, lim)` and (with `verify`) its
 * checksum matches; otherwise INCOMPLETE (runs past `lim`), BAD_LENGTH or BAD_CRC.
 */
export function recordAt(b: Uint8Array, p: number, lim: number, verify: boolean): number {
  if (lim - p < 4) return INCOMPLETE;
  const length = readU32(b, p);
  if (length < MIN_LENGTH || length > MAX_LENGTH) return BAD_LENGTH;
  const end = p + 4 + length;
  if (end > lim) return INCOMPLETE;
  if (verify && crc32cRange(b, p + 8, end) !== readU32(b, p + 4)) return BAD_CRC;
  return length + 4;
}
