import type { RawRecordBatch } from '../source/source.js';
import { readU32 } from './record-codec.js';

/**
 * Records of one partition as positions into the segment bytes they were read from: no object per record.
 * This is the fast path (a view per key and value costs more in garbage collection than parsing does);
 * `toRecordBatch` turns it into the `RawRecordBatch` of views that sources use.
 */
export interface RawRecordColumns {
  readonly topic: string;
  readonly partition: number;
  readonly count: number;
  readonly offsets: BigInt64Array;
  /** ms since the epoch. */
  readonly timestamps: Float64Array;
  /** Segment bytes the records were read from; each key and value lies inside one of them. */
  readonly chunks: readonly Uint8Array[];
  /** Per record: index in `chunks` of the chunk holding its key and value. */
  readonly chunkOf: Uint32Array;
  /** Per record: byte position of the key in its chunk, and its length; -1 for a null key. */
  readonly keyStart: Uint32Array;
  readonly keyLength: Int32Array;
  /** Per record: byte position of the value in its chunk, and its length; -1 for a null value. */
  readonly valueStart: Uint32Array;
  readonly valueLength: Int32Array;
  /** Headers of the records that have any, by record index (0-based in this batch). */
  readonly headers: ReadonlyMap<number, ReadonlyArray<readonly [string, Uint8Array]>>;
}

/** Views (no copies) over the columns' chunks, one per key and value. */
export function toRecordBatch(c: RawRecordColumns): RawRecordBatch {
  const keys = new Array<Uint8Array | null>(c.count);
  const values = new Array<Uint8Array | null>(c.count);
  const headers = new Array<ReadonlyArray<readonly [string, Uint8Array]> | null>(c.count);
  let chunkIndex = -1;
  let ab: ArrayBufferLike = new ArrayBuffer(0);
  let base = 0;
  for (let i = 0; i < c.count; i++) {
    if (c.chunkOf[i] !== chunkIndex) {
      chunkIndex = c.chunkOf[i]!;
      const chunk = c.chunks[chunkIndex]!;
      ab = chunk.buffer;
      base = chunk.byteOffset;
    }
    const kl = c.keyLength[i]!;
    keys[i] = kl < 0 ? null : new Uint8Array(ab, base + c.keyStart[i]!, kl);
    const vl = c.valueLength[i]!;
    values[i] = vl < 0 ? null : new Uint8Array(ab, base + c.valueStart[i]!, vl);
    headers[i] = null;
  }
  for (const [i, h] of c.headers) headers[i] = h;
  return { topic: c.topic, partition: c.partition, count: c.count, offsets: c.offsets, timestamps: c.timestamps, keys, values, headers };
}

/**
 * The columns as a `RawRecordBatch` whose `bytes` are the columns themselves: the decoder's fast path reads
 * those, and the per-record views (`keys`, `values`, `headers`) are only built if something asks for them.
 */
export function toColumnarBatch(c: RawRecordColumns): RawRecordBatch {
  return new ColumnarRecordBatch(c);
}

class ColumnarRecordBatch implements RawRecordBatch {
  readonly topic: string;
  readonly partition: number;
  readonly count: number;
  readonly offsets: BigInt64Array;
  readonly timestamps: Float64Array;
  private views: RawRecordBatch | undefined;

  constructor(readonly bytes: RawRecordColumns) {
    this.topic = bytes.topic;
    this.partition = bytes.partition;
    this.count = bytes.count;
    this.offsets = bytes.offsets;
    this.timestamps = bytes.timestamps;
  }

  get keys(): ReadonlyArray<Uint8Array | null> {
    return this.materialized().keys;
  }

  get values(): ReadonlyArray<Uint8Array | null> {
    return this.materialized().values;
  }

  get headers(): ReadonlyArray<ReadonlyArray<readonly [string, Uint8Array]> | null> {
    return this.materialized().headers;
  }

  private materialized(): RawRecordBatch {
    this.views ??= toRecordBatch(this.bytes);
    return this.views;
  }
}

/** Fills the columns while a reader walks the segments. */
export class ColumnsBuilder {
  readonly timestamps: Float64Array;
  readonly chunks: Uint8Array[] = [];
  readonly chunkOf: Uint32Array;
  readonly keyStart: Uint32Array;
  readonly keyLength: Int32Array;
  readonly valueStart: Uint32Array;
  readonly valueLength: Int32Array;
  readonly headers = new Map<number, ReadonlyArray<readonly [string, Uint8Array]>>();
  n = 0;
  private lastChunk: Uint8Array | undefined;
  private chunkIndex = -1;

  constructor(readonly count: number) {
    this.timestamps = new Float64Array(count);
    this.chunkOf = new Uint32Array(count);
    this.keyStart = new Uint32Array(count);
    this.keyLength = new Int32Array(count);
    this.valueStart = new Uint32Array(count);
    this.valueLength = new Int32Array(count);
  }

  /**
   * Decode the checksum-valid record at `buf[p, end)` into the next row; false if its fields do not fit.
   * `view` is a DataView over `buf` (at least up to `end`): one int32 read instead of four byte reads.
   */
  add(buf: Buffer, view: DataView, p: number, end: number): boolean {
    const i = this.n;
    if (buf !== this.lastChunk) {
      this.chunks.push(buf);
      this.lastChunk = buf;
      this.chunkIndex = this.chunks.length - 1;
    }
    this.chunkOf[i] = this.chunkIndex;
    this.timestamps[i] = view.getFloat64(p + 16, true);
    let q = p + 28;
    const kl = view.getInt32(p + 24, true);
    this.keyStart[i] = q;
    this.keyLength[i] = kl;
    if (kl > 0) q += kl;
    if (kl < -1 || q + 4 > end) return false;
    const vl = view.getInt32(q, true);
    q += 4;
    this.valueStart[i] = q;
    this.valueLength[i] = vl;
    if (vl > 0) q += vl;
    if (vl < -1 || q + 4 > end) return false;
    const headerCount = view.getUint32(q, true);
    q += 4;
    if (headerCount === 0) {
      if (q !== end) return false;
    } else {
      const headers = readHeaders(buf, q, end, headerCount);
      if (!headers) return false;
      this.headers.set(i, headers);
    }
    this.n = i + 1;
    return true;
  }

  finish(topic: string, partition: number, from: number): RawRecordColumns {
    const offsets = new BigInt64Array(this.count);
    // Offsets are contiguous and checked while reading; fill them without one BigInt per record.
    if (LITTLE_ENDIAN) {
      const words = new Uint32Array(offsets.buffer);
      let low = from % 0x1_0000_0000;
      let high = Math.floor(from / 0x1_0000_0000);
      for (let i = 0; i < this.count; i++) {
        words[2 * i] = low;
        words[2 * i + 1] = high;
        if (++low === 0x1_0000_0000) ((low = 0), high++);
      }
    } else {
      for (let i = 0; i < this.count; i++) offsets[i] = BigInt(from + i);
    }
    const { timestamps, chunks, chunkOf, keyStart, keyLength, valueStart, valueLength, headers } = this;
    return { topic, partition, count: this.count, offsets, timestamps, chunks, chunkOf, keyStart, keyLength, valueStart, valueLength, headers };
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The headers of a record from `buf[q]` to `end`; undefined when they do not fit exactly. */
function readHeaders(buf: Buffer, q: number, end: number, count: number): (readonly [string, Uint8Array])[] | undefined {
  const headers: (readonly [string, Uint8Array])[] = [];
  for (let h = 0; h < count; h++) {
    if (q + 2 > end) return undefined;
    const nameLen = buf[q]! | (buf[q + 1]! << 8);
    const nameEnd = q + 2 + nameLen;
    if (nameEnd + 4 > end) return undefined;
    const valueLen = readU32(buf, nameEnd);
    const valueEnd = nameEnd + 4 + valueLen;
    if (valueEnd > end) return undefined;
    headers.push([buf.toString('utf8', q + 2, nameEnd), new Uint8Array(buf.buffer, buf.byteOffset + nameEnd + 4, valueLen)]);
    q = valueEnd;
  }
  return q === end ? headers : undefined;
}
