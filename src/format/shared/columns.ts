import * as arrow from 'apache-arrow';
import { endianness } from 'node:os';
import { userError } from '../../errors.js';
import type { ColumnSpec, ColumnType } from '../../source/schema.js';

/*
 * Column builders writing Arrow buffers directly (docs/architecture.md#arrow-and-duckdb: Arrow's builders are several times slower,
 * hand-built buffers at several million). Every builder is written by row index: a decoder writes row `r`
 * of every column and the row only counts once the caller commits it, so a record dead-lettered halfway
 * leaves nothing behind — the next record simply overwrites row `r`.
 */

if (endianness() !== 'LE') throw new Error('duckstream decode writes int64 values as two little-endian int32 halves');

const TWO_32 = 4294967296;
/** |µs| below this fits a double exactly. */
const SAFE = Number.MAX_SAFE_INTEGER;

/** Writes a safe integer into an int64 buffer seen as pairs of int32. */
export function writeInt64(halves: Int32Array, row: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  halves[2 * row] = (v - hi * TWO_32) | 0;
  halves[2 * row + 1] = hi;
}

/** A validity bitmap written row by row (bit set = valid). */
export class Validity {
  readonly bits: Uint8Array;
  constructor(capacity: number) {
    this.bits = new Uint8Array((capacity + 7) >> 3);
  }
  valid(row: number): void {
    this.bits[row >> 3]! |= 1 << (row & 7);
  }
  null(row: number): void {
    this.bits[row >> 3]! &= ~(1 << (row & 7));
  }
  /** Null count over the first `rows` rows. */
  nullCount(rows: number): number {
    let valid = 0;
    const full = rows >> 3;
    for (let i = 0; i < full; i++) valid += POPCOUNT[this.bits[i]!]!;
    for (let r = full << 3; r < rows; r++) valid += (this.bits[r >> 3]! >> (r & 7)) & 1;
    return rows - valid;
  }
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let v = i; v !== 0; v >>= 1) n += v & 1;
  return n;
});

const encoder = new TextEncoder();
/** Offsets are int32: a column of one batch holds less than 2 GiB of text. */
const MAX_UTF8_BYTES = 0x7fffffff;
/** Up to this many bytes `setBytes` copies in JS; longer values go to the native copy. */
const SHORT_COPY = 160;

/** Utf8 column: int32 offsets + one growing byte buffer. */
export class Utf8Column {
  readonly offsets: Int32Array;
  data: Uint8Array;
  /** `data` as a DataView, for copies eight bytes at a time. */
  private dataView: DataView;
  /** The last source given to `setBytes`, a DataView over its whole ArrayBuffer, and where `src[0]` is in it. */
  private lastSrc: Uint8Array | null = null;
  private lastBuffer: ArrayBufferLike | null = null;
  private srcView: DataView = new DataView(new ArrayBuffer(0));
  private srcBase = 0;

  constructor(
    capacity: number,
    initialBytes: number,
    private readonly name: string,
  ) {
    this.offsets = new Int32Array(capacity + 1);
    this.data = new Uint8Array(Math.max(64, initialBytes));
    this.dataView = new DataView(this.data.buffer);
  }

  /** Room for `extra` more bytes after `at`; returns the buffer to write into. */
  reserve(at: number, extra: number): Uint8Array {
    const need = at + extra;
    if (need > this.data.length) {
      if (need > MAX_UTF8_BYTES) {
        throw userError(`column '${this.name}' holds over 2 GiB of text in one batch`, 'lower the batch size (max records per batch)');
      }
      const grown = new Uint8Array(Math.min(MAX_UTF8_BYTES, Math.max(need, this.data.length * 2)));
      grown.set(this.data.subarray(0, at));
      this.data = grown;
      this.dataView = new DataView(grown.buffer);
    }
    return this.data;
  }

  /** Row `row` = the bytes `src[start, end)` (already known to be valid UTF-8). */
  setBytes(row: number, src: Uint8Array, start: number, end: number): void {
    const at = this.offsets[row]!;
    const len = end - start;
    const data = this.reserve(at, len);
    if (len <= SHORT_COPY && (src === this.lastSrc || len >= 48)) {
      // Up to a few hundred bytes, int32 moves through DataViews beat a view + native copy (a Buffer's subarray
      // even goes through its subclass constructor) and a byte loop alike: 3x at 60 bytes. The DataView spans
      // the source's whole ArrayBuffer, made once per log chunk; when every value is its own view (per-record
      // batches, Kafka) finding it costs a little per value, and short values take the byte loop instead.
      if (src !== this.lastSrc) {
        this.lastSrc = src;
        if (src.buffer !== this.lastBuffer) {
          this.lastBuffer = src.buffer;
          this.srcView = new DataView(src.buffer);
        }
        this.srcBase = src.byteOffset;
      }
      const from = this.srcView;
      const base = this.srcBase + start;
      const to = this.dataView;
      let k = 0;
      for (; k + 8 <= len; k += 8) {
        to.setInt32(at + k, from.getInt32(base + k, true), true);
        to.setInt32(at + k + 4, from.getInt32(base + k + 4, true), true);
      }
      if (k + 4 <= len) {
        to.setInt32(at + k, from.getInt32(base + k, true), true);
        k += 4;
      }
      for (; k < len; k++) data[at + k] = src[start + k]!;
    } else if (len < 48) {
      for (let k = 0; k < len; k++) data[at + k] = src[start + k]!;
    } else {
      data.set(new Uint8Array(src.buffer, src.byteOffset + start, len), at);
    }
    this.offsets[row + 1] = at + len;
  }

  setString(row: number, s: string): void {
    const at = this.offsets[row]!;
    const data = this.reserve(at, s.length * 3);
    const { written } = encoder.encodeInto(s, data.subarray(at));
    this.offsets[row + 1] = at + written;
  }

  /** Row `row` = empty (its validity bit says whether that is '' or NULL). */
  setEmpty(row: number): void {
    this.offsets[row + 1] = this.offsets[row]!;
  }

  /** Rows `[row, row + count)` all = `bytes`, by doubling copies. */
  fill(row: number, count: number, bytes: Uint8Array): void {
    const at = this.offsets[row]!;
    const len = bytes.length;
    const data = this.reserve(at, len * count);
    if (count > 0 && len > 0) {
      data.set(bytes, at);
      let done = 1;
      while (done < count) {
        const n = Math.min(done, count - done);
        data.copyWithin(at + done * len, at, at + n * len);
        done += n;
      }
    }
    for (let k = 1; k <= count; k++) this.offsets[row + k] = at + k * len;
  }

  toData(type: arrow.Utf8, rows: number, validity: Validity | null): arrow.Data<arrow.Utf8> {
    const nullCount = validity ? validity.nullCount(rows) : 0;
    return arrow.makeData({
      type,
      length: rows,
      nullCount,
      nullBitmap: nullCount > 0 ? validity!.bits.subarray(0, (rows + 7) >> 3) : null,
      valueOffsets: this.offsets.subarray(0, rows + 1),
      data: this.data.subarray(0, this.offsets[rows]!),
    });
  }
}

/** Numeric codes for the column types, for switches on the hot path. */
export const enum Code {
  Boolean,
  Integer,
  Bigint,
  Double,
  Varchar,
  Timestamp,
  Date,
  Json,
}

const CODES: Record<ColumnType, Code> = {
  BOOLEAN: Code.Boolean,
  INTEGER: Code.Integer,
  BIGINT: Code.Bigint,
  DOUBLE: Code.Double,
  VARCHAR: Code.Varchar,
  TIMESTAMP: Code.Timestamp,
  DATE: Code.Date,
  JSON: Code.Json,
  // Bytes are laid out as strings are (offsets + data); only the Arrow type differs (Binary), and no UTF-8 check.
  BLOB: Code.Varchar,
};

/** One value column being built; which buffer is used depends on `code`. */
export class ValueColumn {
  readonly code: Code;
  readonly name: string;
  readonly required: boolean;
  readonly validity: Validity;
  /** BOOLEAN: packed bits. */
  readonly bits: Uint8Array;
  /** INTEGER, DATE. */
  readonly i32: Int32Array;
  /** BIGINT, TIMESTAMP: the int64 buffer, and the same bytes seen as int32 halves. */
  readonly i64: BigInt64Array;
  readonly halves: Int32Array;
  readonly f64: Float64Array;
  readonly utf8: Utf8Column | null;

  constructor(
    readonly spec: ColumnSpec,
    capacity: number,
    initialBytes: number,
  ) {
    this.code = CODES[spec.type];
    this.name = spec.name;
    this.required = spec.required;
    this.validity = new Validity(capacity);
    const c = this.code;
    this.bits = new Uint8Array(c === Code.Boolean ? (capacity + 7) >> 3 : 0);
    this.i32 = new Int32Array(c === Code.Integer || c === Code.Date ? capacity : 0);
    this.i64 = new BigInt64Array(c === Code.Bigint || c === Code.Timestamp ? capacity : 0);
    this.halves = new Int32Array(this.i64.buffer);
    this.f64 = new Float64Array(c === Code.Double ? capacity : 0);
    this.utf8 = c === Code.Varchar || c === Code.Json ? new Utf8Column(capacity, initialBytes, spec.name) : null;
  }

  setNull(row: number): void {
    this.validity.null(row);
    const c = this.code;
    if (c === Code.Varchar || c === Code.Json) this.utf8!.setEmpty(row);
    else if (c === Code.Bigint || c === Code.Timestamp) {
      this.halves[2 * row] = 0;
      this.halves[2 * row + 1] = 0;
    } else if (c === Code.Integer || c === Code.Date) this.i32[row] = 0;
    else if (c === Code.Double) this.f64[row] = 0;
    else this.bits[row >> 3]! &= ~(1 << (row & 7));
  }

  setBoolean(row: number, v: boolean): void {
    this.validity.valid(row);
    if (v) this.bits[row >> 3]! |= 1 << (row & 7);
    else this.bits[row >> 3]! &= ~(1 << (row & 7));
  }

  /** BIGINT or TIMESTAMP from a safe integer or an int64 bigint. */
  setInt64(row: number, v: number | bigint): void {
    this.validity.valid(row);
    if (typeof v === 'number') writeInt64(this.halves, row, v);
    else this.i64[row] = v;
  }

  /** TIMESTAMP from whole seconds and microseconds. */
  setMicros(row: number, seconds: number, micros: number): void {
    this.validity.valid(row);
    const us = seconds * 1e6 + micros;
    if (us >= -SAFE && us <= SAFE) writeInt64(this.halves, row, us);
    else this.i64[row] = BigInt(seconds) * 1000000n + BigInt(micros);
  }

  toData(field: arrow.Field, rows: number): arrow.Data {
    const nullCount = this.validity.nullCount(rows);
    const nullBitmap = nullCount > 0 ? this.validity.bits.subarray(0, (rows + 7) >> 3) : null;
    const type = field.type;
    switch (this.code) {
      case Code.Varchar:
      case Code.Json:
        return this.utf8!.toData(type, rows, this.validity);
      case Code.Boolean:
        return arrow.makeData({ type, length: rows, nullCount, nullBitmap, data: this.bits.subarray(0, (rows + 7) >> 3) });
      case Code.Integer:
      case Code.Date:
        return arrow.makeData({ type, length: rows, nullCount, nullBitmap, data: this.i32.subarray(0, rows) });
      case Code.Bigint:
      case Code.Timestamp:
        return arrow.makeData({ type, length: rows, nullCount, nullBitmap, data: this.i64.subarray(0, rows) });
      case Code.Double:
        return arrow.makeData({ type, length: rows, nullCount, nullBitmap, data: this.f64.subarray(0, rows) });
    }
  }
}
