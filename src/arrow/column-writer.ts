import { isUtf8 } from 'node:buffer';
import type * as arrow from 'apache-arrow';
import duckdb from '@duckdb/node-bindings';
import { userError } from '../errors.js';
import type { ColumnMapping } from './duckdb-type.js';

/** DuckDB's vector size: a data chunk holds at most this many rows. */
export const VECTOR_SIZE = duckdb.vector_size();

/** A DuckDB VARCHAR/BLOB vector element (`duckdb_string_t`) is 16 bytes; strings up to 12 bytes are stored inline. */
const STRING_T_SIZE = 16;
const INLINE_LIMIT = 12;
const TWO_32 = 4294967296;

/**
 * How variable-width values reach a VARCHAR/BLOB vector.
 * - `heap-pointer` (the default, fastest): one N-API call per chunk copies the chunk's whole Arrow data buffer into the
 *   vector's own string heap (as element 0); we read back where DuckDB put it, build every 16-byte `duckdb_string_t`
 *   in a JS buffer (length + inline bytes, or length + 4-byte prefix + pointer into that copy) and bulk-copy them in.
 *   The bytes live exactly as long as strings added the ordinary way, because they are in the same heap.
 * - `per-string`: one `vector_assign_string_element_len` call per value (kept for the benchmark).
 */
export type StringStrategy = 'heap-pointer' | 'per-string';

export interface ColumnWriter {
  readonly logicalType: duckdb.LogicalType;
  /** Fill rows [0, count) of `vector` (a vector of a freshly reset chunk) from rows [start, start + count) of `data`. */
  write(vector: duckdb.Vector, data: arrow.Data, start: number, count: number): void;
}

/** Reusable per-column buffers, big enough for one chunk. */
class Scratch {
  readonly bytes = new Uint8Array(VECTOR_SIZE * STRING_T_SIZE);
  readonly u32 = new Uint32Array(this.bytes.buffer);
  readonly i32 = new Int32Array(this.bytes.buffer);
  readonly f64 = new Float64Array(VECTOR_SIZE + 1);
}

export function createColumnWriter(column: string, mapping: ColumnMapping, strings: StringStrategy = 'heap-pointer'): ColumnWriter {
  const logicalType = duckdb.create_logical_type(mapping.typeId);
  const s = new Scratch();
  const fill = valueFiller(column, mapping, s, strings);
  return {
    logicalType,
    write(vector, data, start, count) {
      fill(vector, data, start, count);
      writeValidity(vector, data, start, count, s.bytes);
    },
  };
}

type Fill = (vector: duckdb.Vector, data: arrow.Data, start: number, count: number) => void;

function valueFiller(column: string, mapping: ColumnMapping, s: Scratch, strings: StringStrategy): Fill {
  const w = mapping.write;
  switch (w.kind) {
    case 'copy':
      return (vector, data, start, count) => {
        const values = data.values as ArrayBufferView;
        duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + start * w.width, count * w.width);
      };
    case 'bool':
      return (vector, data, start, count) => fillBool(vector, data, start, count, s);
    case 'scale64':
      return (vector, data, start, count) => fillScaled64(vector, data, start, count, s, w.factor, column);
    case 'dateMs':
      return (vector, data, start, count) => fillDateMs(vector, data, start, count, s, column);
    case 'bytes':
      return strings === 'per-string'
        ? (vector, data, start, count) => fillBytesPerString(vector, data, start, count, s, w.utf8, column)
        : (vector, data, start, count) => fillBytes(vector, data, start, count, s, w.utf8, column);
    case 'dictionary':
      return dictionaryFiller(column, w.utf8, s);
  }
}

/** Arrow validity bits (LSB first, starting at bit `offset + start`) → DuckDB validity mask (LSB first, from bit 0). */
function writeValidity(vector: duckdb.Vector, data: arrow.Data, start: number, count: number, scratch: Uint8Array): void {
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length === 0 || data.nullCount <= 0) return; // a reset chunk is all-valid
  const bit = data.offset + start;
  const byteCount = (count + 7) >> 3;
  const first = bit >> 3;
  duckdb.vector_ensure_validity_writable(vector);
  const shift = bit & 7;
  if (shift === 0 && first + byteCount <= bitmap.length) {
    duckdb.copy_data_to_vector_validity(vector, 0, bitmap.buffer as ArrayBuffer, bitmap.byteOffset + first, byteCount);
    return;
  }
  for (let j = 0; j < byteCount; j++) {
    const lo = bitmap[first + j] ?? 0;
    const hi = bitmap[first + j + 1] ?? 0;
    scratch[j] = ((lo >>> shift) | (hi << (8 - shift))) & 0xff;
  }
  duckdb.copy_data_to_vector_validity(vector, 0, scratch.buffer as ArrayBuffer, scratch.byteOffset, byteCount);
}

function fillBool(vector: duckdb.Vector, data: arrow.Data, start: number, count: number, s: Scratch): void {
  const bits = data.values as Uint8Array;
  const out = s.bytes;
  const pos = data.offset + start;
  for (let i = 0; i < count; i++) {
    const p = pos + i;
    out[i] = (bits[p >> 3]! >> (p & 7)) & 1;
  }
  duckdb.copy_data_to_vector(vector, 0, out.buffer, 0, count);
}

/** int64 × factor without BigInt while |value| < 2^53 / factor (every realistic timestamp); exact BigInt path otherwise. */
function fillScaled64(vector: duckdb.Vector, data: arrow.Data, start: number, count: number, s: Scratch, factor: number, column: string): void {
  const values = data.values as BigInt64Array;
  const inLo = new Uint32Array(values.buffer, values.byteOffset + start * 8, count * 2);
  const inHi = new Int32Array(values.buffer, values.byteOffset + start * 8, count * 2);
  const limit = Number.MAX_SAFE_INTEGER / factor;
  const out64 = new BigInt64Array(s.bytes.buffer, 0, count);
  for (let i = 0; i < count; i++) {
    const v = inHi[2 * i + 1]! * TWO_32 + inLo[2 * i]!;
    if (v <= limit && v >= -limit) {
      const r = v * factor;
      const hi = Math.floor(r / TWO_32);
      s.u32[2 * i] = r - hi * TWO_32;
      s.i32[2 * i + 1] = hi;
    } else {
      const r = values[start + i]! * BigInt(factor);
      if (r !== BigInt.asIntN(64, r)) {
        throw userError(`column '${column}' row ${start + i}: timestamp ${values[start + i]} is out of DuckDB's TIMESTAMP range`);
      }
      out64[i] = r;
    }
  }
  duckdb.copy_data_to_vector(vector, 0, s.bytes.buffer, 0, count * 8);
}

const MS_PER_DAY = 86_400_000;

function fillDateMs(vector: duckdb.Vector, data: arrow.Data, start: number, count: number, s: Scratch, column: string): void {
  const values = data.values as BigInt64Array;
  for (let i = 0; i < count; i++) {
    const days = Math.floor(Number(values[start + i]!) / MS_PER_DAY);
    if (days > 0x7fffffff || days < -0x80000000) {
      throw userError(`column '${column}' row ${start + i}: date ${values[start + i]} ms is out of DuckDB's DATE range`);
    }
    s.i32[i] = days;
  }
  duckdb.copy_data_to_vector(vector, 0, s.bytes.buffer, 0, count * 4);
}

/** Offsets of rows [start, start + count] as numbers (Int32Array as is; int64 offsets converted). */
function chunkOffsets(data: arrow.Data, start: number, count: number, s: Scratch): ArrayLike<number> {
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  if (offsets instanceof Int32Array) return offsets.subarray(start, start + count + 1);
  for (let i = 0; i <= count; i++) s.f64[i] = Number(offsets[start + i]!);
  return s.f64;
}

function fillBytes(vector: duckdb.Vector, data: arrow.Data, start: number, count: number, s: Scratch, utf8: boolean, column: string): void {
  const values = data.values as Uint8Array;
  const off = chunkOffsets(data, start, count, s);
  const base = off[0]!;
  const end = off[count]!;
  if (utf8) checkUtf8(values, off, count, column, start);
  let long = false;
  for (let i = 0; i < count; i++) {
    if (off[i + 1]! - off[i]! > INLINE_LIMIT) {
      long = true;
      break;
    }
  }
  let ptrLo = 0;
  let ptrHi = 0;
  if (long) {
    // More than 12 bytes, so DuckDB copies them into the vector's string heap; element 0 now points at that copy.
    duckdb.vector_assign_string_element_len(vector, 0, values.subarray(base, end));
    const head = duckdb.vector_get_data(vector, STRING_T_SIZE);
    ptrLo = (head[8]! | (head[9]! << 8) | (head[10]! << 16) | (head[11]! << 24)) >>> 0;
    ptrHi = (head[12]! | (head[13]! << 8) | (head[14]! << 16) | (head[15]! << 24)) >>> 0;
  }
  const u8 = s.bytes;
  const u32 = s.u32;
  for (let i = 0; i < count; i++) {
    const from = off[i]!;
    const len = off[i + 1]! - from;
    const w = i * 4;
    const b = i * STRING_T_SIZE + 4;
    u32[w] = len;
    if (len <= INLINE_LIMIT) {
      u32[w + 1] = 0;
      u32[w + 2] = 0;
      u32[w + 3] = 0;
      for (let k = 0; k < len; k++) u8[b + k] = values[from + k]!;
    } else {
      u8[b] = values[from]!;
      u8[b + 1] = values[from + 1]!;
      u8[b + 2] = values[from + 2]!;
      u8[b + 3] = values[from + 3]!;
      let lo = ptrLo + (from - base);
      let hi = ptrHi;
      if (lo >= TWO_32) {
        hi += Math.floor(lo / TWO_32);
        lo %= TWO_32;
      }
      u32[w + 2] = lo;
      u32[w + 3] = hi;
    }
  }
  duckdb.copy_data_to_vector(vector, 0, u8.buffer, 0, count * STRING_T_SIZE);
}

function fillBytesPerString(vector: duckdb.Vector, data: arrow.Data, start: number, count: number, s: Scratch, utf8: boolean, column: string): void {
  const values = data.values as Uint8Array;
  const off = chunkOffsets(data, start, count, s);
  if (utf8) checkUtf8(values, off, count, column, start);
  for (let i = 0; i < count; i++) {
    duckdb.vector_assign_string_element_len(vector, i, values.subarray(off[i]!, off[i + 1]!));
  }
}

/**
 * DuckDB assumes VARCHAR bytes are valid UTF-8 and does not check what we copy in. The whole slice being valid UTF-8
 * and no value starting with a continuation byte (10xxxxxx) means every value is valid on its own.
 */
function checkUtf8(values: Uint8Array, off: ArrayLike<number>, count: number, column: string, firstRow: number, what = 'row'): void {
  const end = off[count]!;
  let ok = isUtf8(values.subarray(off[0]!, end));
  for (let i = 1; ok && i < count; i++) {
    const at = off[i]!;
    if (at < end && (values[at]! & 0xc0) === 0x80) ok = false;
  }
  if (ok) return;
  for (let i = 0; i < count; i++) {
    if (!isUtf8(values.subarray(off[i]!, off[i + 1]!))) {
      throw userError(`column '${column}' ${what} ${firstRow + i}: the value is not valid UTF-8`, 'declare the column as Binary to load it as BLOB');
    }
  }
}

/** A dictionary flattened to one byte buffer, copied once into a DuckDB-owned vector that outlives the chunks using it. */
interface LoadedDictionary {
  readonly source: unknown;
  readonly bytes: Uint8Array;
  readonly offsets: Float64Array;
  /** Keeps DuckDB's copy of `bytes` alive (freed by its finalizer once this object is dropped). */
  readonly holder: duckdb.Vector | undefined;
  readonly ptrLo: number;
  readonly ptrHi: number;
}

function dictionaryFiller(column: string, utf8: boolean, s: Scratch): Fill {
  let dict: LoadedDictionary | undefined;
  return (vector, data, start, count) => {
    if (!dict || dict.source !== data.dictionary) dict = loadDictionary(data.dictionary, utf8, column);
    const { bytes, offsets, ptrLo, ptrHi } = dict;
    const size = offsets.length - 1;
    const indices = data.values as ArrayLike<number | bigint>;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
    const u8 = s.bytes;
    const u32 = s.u32;
    for (let i = 0; i < count; i++) {
      const idx = Number(indices[start + i]!);
      const w = i * 4;
      const b = i * STRING_T_SIZE + 4;
      if (!(idx >= 0 && idx < size)) {
        const p = data.offset + start + i;
        if (bitmap && ((bitmap[p >> 3]! >> (p & 7)) & 1) === 0) {
          u32[w] = u32[w + 1] = u32[w + 2] = u32[w + 3] = 0; // NULL row: any index allowed
          continue;
        }
        throw userError(`column '${column}' row ${start + i}: dictionary index ${idx} is outside the dictionary (size ${size})`);
      }
      const from = offsets[idx]!;
      const len = offsets[idx + 1]! - from;
      u32[w] = len;
      if (len <= INLINE_LIMIT) {
        u32[w + 1] = 0;
        u32[w + 2] = 0;
        u32[w + 3] = 0;
        for (let k = 0; k < len; k++) u8[b + k] = bytes[from + k]!;
      } else {
        u8[b] = bytes[from]!;
        u8[b + 1] = bytes[from + 1]!;
        u8[b + 2] = bytes[from + 2]!;
        u8[b + 3] = bytes[from + 3]!;
        let lo = ptrLo + from;
        let hi = ptrHi;
        if (lo >= TWO_32) {
          hi += Math.floor(lo / TWO_32);
          lo %= TWO_32;
        }
        u32[w + 2] = lo;
        u32[w + 3] = hi;
      }
    }
    duckdb.copy_data_to_vector(vector, 0, u8.buffer, 0, count * STRING_T_SIZE);
  };
}

function loadDictionary(source: arrow.Vector | undefined, utf8: boolean, column: string): LoadedDictionary {
  const parts = source?.data ?? [];
  let total = 0;
  let size = 0;
  for (const part of parts) {
    size += part.length;
    total += Number(part.valueOffsets[part.length]!) - Number(part.valueOffsets[0]!);
  }
  const bytes = new Uint8Array(total);
  const offsets = new Float64Array(size + 1);
  let at = 0;
  let n = 0;
  for (const part of parts) {
    const po = part.valueOffsets as Int32Array | BigInt64Array;
    const first = Number(po[0]!);
    const last = Number(po[part.length]!);
    bytes.set((part.values as Uint8Array).subarray(first, last), at);
    for (let i = 0; i < part.length; i++) offsets[n++] = at + Number(po[i]!) - first;
    at += last - first;
  }
  offsets[n] = at;
  if (utf8) checkUtf8(bytes, offsets, size, column, 0, 'dictionary entry');
  let holder: duckdb.Vector | undefined;
  let ptrLo = 0;
  let ptrHi = 0;
  if (total > INLINE_LIMIT) {
    holder = duckdb.create_vector(duckdb.create_logical_type(duckdb.Type.BLOB), 1);
    duckdb.vector_assign_string_element_len(holder, 0, bytes);
    const head = duckdb.vector_get_data(holder, STRING_T_SIZE);
    ptrLo = (head[8]! | (head[9]! << 8) | (head[10]! << 16) | (head[11]! << 24)) >>> 0;
    ptrHi = (head[12]! | (head[13]! << 8) | (head[14]! << 16) | (head[15]! << 24)) >>> 0;
  }
  return { source, bytes, offsets, holder, ptrLo, ptrHi };
}
