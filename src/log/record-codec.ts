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
  const starts = new Uint32Array(records.length);
  let p = 0;
  for (let i = 0; i < records.length; i++) {
    starts[i] = p;
    p = writeRecord(out, p, records[i]!, baseOffset + i, now);
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
  if (size - 4 > MAX_LENGTH) {
    throw userError(`a record of ${size} bytes is larger than the ${MAX_LENGTH}-byte limit of the log`, 'split the value into smaller records');
  }
  return size;
}

function writeBytes(out: Buffer, p: number, v: Uint8Array | string): number {
  if (typeof v === 'string') return p + out.write(v, p, 'utf8');
  out.set(v, p);
  return p + v.byteLength;
}

function writeNullable(out: Buffer, p: number, v: Uint8Array | string | null | undefined): number {
  if (v == null) {
    out.writeInt32LE(-1, p);
    return p + 4;
  }
  const end = writeBytes(out, p + 4, v);
  out.writeInt32LE(end - p - 4, p);
  return end;
}

function writeRecord(out: Buffer, start: number, r: AppendRecord, offset: number, now: number): number {
  const ts = r.timestamp ?? now;
  if (!Number.isFinite(ts)) throw userError(`record timestamp ${ts} is not a finite number of ms since the epoch`);
  out.writeUInt32LE(offset % 0x1_0000_0000, start + 8);
  out.writeUInt32LE(Math.floor(offset / 0x1_0000_0000), start + 12);
  out.writeDoubleLE(ts, start + 16);
  let p = writeNullable(out, start + 24, r.key);
  p = writeNullable(out, p, r.value);
  const headers = r.headers ?? [];
  out.writeUInt32LE(headers.length, p);
  p += 4;
  for (const [name, value] of headers) {
    const nameEnd = out.write(name, p + 2, 'utf8') + p + 2;
    if (nameEnd - p - 2 > 0xffff) throw userError(`header name "${name.slice(0, 40)}…" is longer than 65535 bytes`);
    out.writeUInt16LE(nameEnd - p - 2, p);
    const valueEnd = writeBytes(out, nameEnd + 4, value);
    out.writeUInt32LE(valueEnd - nameEnd - 4, nameEnd);
    p = valueEnd;
  }
  out.writeUInt32LE(p - start - 4, start);
  out.writeUInt32LE(crc32cRange(out, start + 8, p), start + 4);
  return p;
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
