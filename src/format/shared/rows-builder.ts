import * as arrow from 'apache-arrow';
import { isUtf8 } from 'node:buffer';
import { internalError } from '../../errors.js';
import { batchSchema, type ValueSchema } from '../../source/schema.js';
import type { RawRecordBatch } from '../../source/source.js';
import { Utf8Column, Validity, ValueColumn, writeInt64 } from './columns.js';
import { keyLength } from './raw-bytes.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SAFE_MS = 9e12; // |ms| below this stays a safe integer in µs

/**
 * The output table being built: metadata columns (written when a row is committed) and value columns
 * (written by a record decoder before the commit).
 */
export class RowsBuilder {
  rows = 0;
  /** One per declared value column, in schema order; a column left out of the table is a one-row scratch column. */
  readonly values: ValueColumn[];
  /**
   * Per value column: the row a decoder writes is `row & rowMask[c]`, i.e. the row itself for a stored column and
   * row 0 of its scratch column for one left out (converted and checked all the same, never kept).
   */
  readonly rowMask: Int32Array;
  private readonly stored: ValueSchema;
  private readonly topic: Utf8Column;
  private readonly partition: Int32Array;
  private readonly offset: BigInt64Array;
  private readonly offsetHalves: Int32Array;
  private readonly timestamp: BigInt64Array;
  private readonly timestampHalves: Int32Array;
  private readonly key: Utf8Column;
  private readonly keyValidity: Validity;

  /**
   * `textBytes[c]`: expected bytes of text value column `c` over all rows (a guess; buffers grow past it).
   * `stored[c]` false: column `c` is decoded but left out of the table (default: every column is stored).
   */
  constructor(schema: ValueSchema, batches: readonly RawRecordBatch[], textBytes: readonly number[], stored?: readonly boolean[]) {
    let capacity = 0;
    let topicBytes = 0;
    let keyBytes = 0;
    for (const batch of batches) {
      capacity += batch.count;
      topicBytes += batch.count * encoder.encode(batch.topic).length;
      for (let i = 0; i < batch.count; i++) keyBytes += keyLength(batch, i);
    }
    // Exact sizes are known for the metadata, value text columns get the caller's estimate: every large
    // allocation (and every doubling copy) brings V8's next full GC closer, which costs more than the copy.
    const keep = (c: number) => stored?.[c] ?? true;
    this.values = schema.map((spec, c) => (keep(c) ? new ValueColumn(spec, capacity, textBytes[c] ?? 0) : new ValueColumn(spec, 1, 0)));
    this.rowMask = Int32Array.from(schema, (_, c) => (keep(c) ? -1 : 0));
    this.stored = schema.filter((_, c) => keep(c));
    this.topic = new Utf8Column(capacity, topicBytes, '_topic');
    this.partition = new Int32Array(capacity);
    this.offset = new BigInt64Array(capacity);
    this.offsetHalves = new Int32Array(this.offset.buffer);
    this.timestamp = new BigInt64Array(capacity);
    this.timestampHalves = new Int32Array(this.timestamp.buffer);
    // a key that is not UTF-8 grows by U+FFFD replacements: reserve() still grows the buffer then
    this.key = new Utf8Column(capacity, keyBytes, '_key');
    this.keyValidity = new Validity(capacity);
  }

  /** Row `rows` is record `i` of `batch`: writes its metadata (the value columns are already written). */
  commit(batch: RawRecordBatch, i: number, offsetHalves: Int32Array): void {
    const row = this.rows++;
    this.offsetHalves[2 * row] = offsetHalves[2 * i]!;
    this.offsetHalves[2 * row + 1] = offsetHalves[2 * i + 1]!;
    const ms = batch.timestamps[i]!;
    if (Math.abs(ms) < SAFE_MS) writeInt64(this.timestampHalves, row, Math.round(ms * 1000));
    else if (Number.isFinite(ms)) this.timestamp[row] = BigInt(Math.round(ms)) * 1000n;
    else throw internalError(`record ${batch.topic}/${batch.partition}@${batch.offsets[i]} has timestamp ${ms}`);
    const bytes = batch.bytes;
    if (bytes) {
      // fast path: the key's position in the read buffers, a view only for long non-ASCII keys
      const length = bytes.keyLength[i]!;
      if (length < 0) this.nullKey(row);
      else {
        const chunk = bytes.chunks[bytes.chunkOf[i]!]!;
        const start = bytes.keyStart[i]!;
        this.keyValidity.valid(row);
        if (isAscii(chunk, start, start + length)) this.key.setBytes(row, chunk, start, start + length);
        else this.setKey(row, chunk.subarray(start, start + length));
      }
      return;
    }
    const key = batch.keys[i];
    if (key == null) this.nullKey(row);
    else {
      this.keyValidity.valid(row);
      if (isAscii(key, 0, key.length)) this.key.setBytes(row, key, 0, key.length);
      else this.setKey(row, key);
    }
  }

  private nullKey(row: number): void {
    this.keyValidity.null(row);
    this.key.setEmpty(row);
  }

  private setKey(row: number, key: Uint8Array): void {
    if (isUtf8(key)) this.key.setBytes(row, key, 0, key.length);
    else this.key.setString(row, decoder.decode(key)); // not UTF-8: invalid bytes become U+FFFD
  }

  /** The rows `[from, rows)` all came from `batch`: fills `_topic` and `_partition`. */
  endBatch(batch: RawRecordBatch, from: number): void {
    this.topic.fill(from, this.rows - from, encoder.encode(batch.topic));
    this.partition.fill(batch.partition, from, this.rows);
  }

  finish(): arrow.Table {
    const schema = batchSchema(this.stored);
    const rows = this.rows;
    const f = schema.fields;
    const int = (i: number, data: Int32Array | BigInt64Array): arrow.Data =>
      arrow.makeData({ type: f[i]!.type, length: rows, nullCount: 0, data: data.subarray(0, rows) });
    const children: arrow.Data[] = [
      this.topic.toData(f[0]!.type, rows, null),
      int(1, this.partition),
      int(2, this.offset),
      int(3, this.timestamp),
      this.key.toData(f[4]!.type, rows, this.keyValidity),
      ...this.values.filter((_, c) => this.rowMask[c] !== 0).map((col, c) => col.toData(f[5 + c]!, rows)),
    ];
    const struct = arrow.makeData({ type: new arrow.Struct(f), length: rows, nullCount: 0, children });
    return new arrow.Table(schema, new arrow.RecordBatch(schema, struct));
  }
}

/** Short and ASCII (longer keys go to the native `isUtf8`). */
function isAscii(b: Uint8Array, start: number, end: number): boolean {
  if (end - start > 64) return false;
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
  return true;
}
