import * as arrow from 'apache-arrow';
import type { ValueSchema } from '../schema.js';
import type { DeadLetter, DuckdbJsonRows, RawRecordBatch, SourceBatch } from '../source.js';
import { DEFAULT_MAX_VALUE_BYTES, decodeRecords, type DecodeOptions } from './index.js';
import { keyOf, valueOf } from './raw-bytes.js';
import { RowsBuilder } from './rows-builder.js';

/*
 * The DuckDB fast path for JSON values (DESIGN §5): the values travel to DuckDB as raw bytes and json_transform
 * parses them there, in parallel, instead of this process building every column. DuckDB's JSON reader is not
 * ours, though (it accepts trailing commas and NaN, keeps the first of two equal keys, casts "12" into BIGINT,
 * rounds 1.5 into INTEGER, ignores time zone offsets): duckdb-json-sql.ts keeps a row only when DuckDB itself
 * proves that the JS decoder would read the record the same way; every other record is decoded here by the JS
 * decoder, the reference, which also gives the dead letters and their reasons. test/decode/duckdb-json.test.ts
 * runs both paths over edge cases and fuzz and compares rows and dead letters.
 */

/** Types DuckDB can decode for us; JSON columns keep their exact text only in the JS decoder. */
const FAST_TYPES = new Set(['BOOLEAN', 'INTEGER', 'BIGINT', 'DOUBLE', 'VARCHAR', 'TIMESTAMP', 'DATE']);

/** Below this many records the JS decoder does it all (a DuckDB round trip costs more). */
const MIN_RECORDS = 64;

/** Whether a source with these options may use the fast path at all. */
export function duckdbJsonApplies(options: DecodeOptions): boolean {
  return options.format === 'json' && options.schema.every((c) => FAST_TYPES.has(c.type));
}

/**
 * `batches` ready for DuckDB to decode at ingest (`duckdb` set), or decoded by `decodeRecords` when the fast path
 * does not apply. The JS decoder's `table` and `deadLetters` are still there for callers that ask (built lazily).
 */
export function decodeForDuckdb(batches: readonly RawRecordBatch[], options: DecodeOptions): SourceBatch {
  let total = 0;
  for (const b of batches) total += b.count;
  if (!duckdbJsonApplies(options) || total < MIN_RECORDS) return decodeRecords(batches, options);
  const maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  let whole: SourceBatch | undefined;
  const decodeAllInJs = (): SourceBatch => (whole ??= decodeRecords(batches, options));
  const duckdb: DuckdbJsonRows = {
    raw: rawValues(batches, maxValueBytes),
    schema: options.schema,
    count: total,
    decodeInJs: (pick) => decodePicked(batches, pick, options),
    decodeAllInJs,
  };
  return {
    get table(): arrow.Table {
      return decodeAllInJs().table;
    },
    get deadLetters(): readonly DeadLetter[] {
      return decodeAllInJs().deadLetters;
    },
    numRecords: total,
    duckdb,
  };
}

/** Metadata columns, `__v` (the value bytes, BLOB) and `__i` (record number) of the records with a value within the limit. */
function rawValues(batches: readonly RawRecordBatch[], maxValueBytes: number): arrow.Table {
  const schema: ValueSchema = [{ name: '__v', type: 'BLOB', required: false }];
  let bytes = 0;
  let count = 0;
  for (const batch of batches) {
    for (let i = 0; i < batch.count; i++) {
      const length = valueLength(batch, i);
      if (length >= 0 && length <= maxValueBytes) {
        bytes += length;
        count++;
      }
    }
  }
  const out = new RowsBuilder(schema, batches, [bytes]);
  const v = out.values[0]!;
  const numbers = new Int32Array(count);
  let n = 0;
  for (const batch of batches) {
    const from = out.rows;
    const offsetHalves = new Int32Array(batch.offsets.buffer, batch.offsets.byteOffset, batch.count * 2);
    const b = batch.bytes;
    for (let i = 0; i < batch.count; i++, n++) {
      const length = valueLength(batch, i);
      if (length < 0 || length > maxValueBytes) continue;
      const row = out.rows;
      if (b) {
        const start = b.valueStart[i]!;
        v.utf8!.setBytes(row, b.chunks[b.chunkOf[i]!]!, start, start + length);
      } else v.utf8!.setBytes(row, batch.values[i]!, 0, length);
      v.validity.valid(row);
      numbers[row] = n;
      out.commit(batch, i, offsetHalves);
    }
    out.endBatch(batch, from);
  }
  return withRecordNumbers(out.finish(), numbers);
}

function valueLength(batch: RawRecordBatch, i: number): number {
  return batch.bytes ? batch.bytes.valueLength[i]! : (batch.values[i]?.length ?? -1);
}

/** The JS decoder over the picked records (batches of their own, one per input batch that has any), with `__i`. */
function decodePicked(batches: readonly RawRecordBatch[], pick: Uint8Array, options: DecodeOptions): SourceBatch {
  const sub: RawRecordBatch[] = [];
  const numbers: number[] = [];
  let n = 0;
  for (const batch of batches) {
    const picked: number[] = [];
    for (let i = 0; i < batch.count; i++, n++) {
      if (pick[n] !== 1) continue;
      picked.push(i);
      numbers.push(n);
    }
    if (picked.length === 0) continue;
    sub.push({
      topic: batch.topic,
      partition: batch.partition,
      count: picked.length,
      offsets: BigInt64Array.from(picked, (i) => batch.offsets[i]!),
      timestamps: Float64Array.from(picked, (i) => batch.timestamps[i]!),
      keys: picked.map((i) => keyOf(batch, i)),
      values: picked.map((i) => valueOf(batch, i)),
      headers: picked.map(() => null),
    });
  }
  const decoded = decodeRecords(sub, options);
  return { ...decoded, table: withRecordNumbers(decoded.table, rowNumbers(sub, numbers, decoded.deadLetters)) };
}

/** Record numbers of the JS decoder's rows: the picked records in order, less the dead-lettered ones. */
function rowNumbers(sub: readonly RawRecordBatch[], numbers: readonly number[], deadLetters: readonly DeadLetter[]): Int32Array {
  const out = new Int32Array(numbers.length - deadLetters.length);
  let d = 0;
  let row = 0;
  let k = 0;
  for (const batch of sub) {
    for (let i = 0; i < batch.count; i++, k++) {
      const dead = deadLetters[d];
      if (dead && dead.partition === batch.partition && dead.topic === batch.topic && dead.offset === batch.offsets[i]) {
        d++;
        continue;
      }
      out[row++] = numbers[k]!;
    }
  }
  return out;
}

const RECORD_NUMBER = new arrow.Field('__i', new arrow.Int32(), false);

/** `table` with `__i` (the record number of each row) appended. */
function withRecordNumbers(table: arrow.Table, numbers: Int32Array): arrow.Table {
  const schema = new arrow.Schema([...table.schema.fields, RECORD_NUMBER]);
  let row = 0;
  const batches = table.batches.map((b) => {
    const data = arrow.makeData({ type: RECORD_NUMBER.type, length: b.numRows, nullCount: 0, data: numbers.subarray(row, row + b.numRows) });
    row += b.numRows;
    return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: b.numRows, nullCount: 0, children: [...b.data.children, data] }));
  });
  return batches.length === 0 ? new arrow.Table(schema) : new arrow.Table(schema, batches);
}
