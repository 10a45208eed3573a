import * as arrow from 'apache-arrow';
import type { ColumnSpec, ValueSchema } from '../schema.js';
import type { DeadLetter, DuckdbJsonRows, RawRecordBatch, SourceBatch } from '../source.js';
import { DEFAULT_MAX_VALUE_BYTES, decodeRecords, type DecodeOptions } from './index.js';
import { JsonObjectScanner, Kind } from './json-scanner.js';
import { keyOf, valueOf } from './raw-bytes.js';
import { RowsBuilder } from './rows-builder.js';
import { numberValue, parseDate, parseTimestamp } from './text-values.js';

/*
 * The DuckDB fast path for JSON values (DESIGN §5): DuckDB parses the values (json_transform, in parallel) while
 * they are loaded, instead of this process building every column. DuckDB's JSON reader is not ours, though: it
 * accepts trailing commas and NaN, keeps the first of two equal keys, casts "12" into BIGINT, rounds 1.5 into
 * INTEGER, ignores time zone offsets. So our scanner still reads every record (validating it exactly as the JS
 * decoder does) and a record goes to DuckDB only when each of its schema fields has a JSON type and form for which
 * DuckDB's conversion is known to give the JS decoder's value. Every other record (invalid, dead-lettered, or just
 * unusual) is decoded here by the JS decoder, the reference, which also gives the dead letters and their reasons.
 * test/decode/duckdb-json.test.ts runs both paths over edge cases and fuzz and compares rows and dead letters.
 */

/** Types DuckDB can decode for us; JSON columns keep their exact text only in the JS decoder. */
const FAST_TYPES = new Set(['BOOLEAN', 'INTEGER', 'BIGINT', 'DOUBLE', 'VARCHAR', 'TIMESTAMP', 'DATE']);

/** Below this many provable records in a batch, the JS decoder does it all (a DuckDB round trip costs more). */
const MIN_FAST_RECORDS = 64;

/** Whether a source with these options may use the fast path at all. */
export function duckdbJsonApplies(options: DecodeOptions): boolean {
  return options.format === 'json' && options.schema.every((c) => FAST_TYPES.has(c.type));
}

/** How a TIMESTAMP column's values are written in a batch (DuckDB reads one form per column and batch). */
const enum TimeForm {
  Unknown,
  Text,
  EpochMillis,
}

/**
 * Decodes `batches` like `decodeRecords`, except that the records DuckDB provably decodes alike are left to it:
 * they come back as raw values in `duckdb`, the rest decoded (with every dead letter) here. Falls back to
 * `decodeRecords` when too few records qualify.
 */
export function decodeForDuckdb(batches: readonly RawRecordBatch[], options: DecodeOptions): SourceBatch {
  if (!duckdbJsonApplies(options)) return decodeRecords(batches, options);
  const schema = options.schema;
  let total = 0;
  for (const b of batches) total += b.count;
  const checker = new FastPathChecker(schema, options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, total);
  const fast = new Uint8Array(total);
  let fastCount = 0;
  let n = 0;
  for (const batch of batches) {
    for (let i = 0; i < batch.count; i++, n++) {
      if (checker.check(batch, i)) {
        fast[n] = 1;
        fastCount++;
      }
    }
  }
  // A TIMESTAMP column is read in one form per batch: records using the other form go to the JS decoder.
  for (let r = 0; r < total; r++) {
    if (fast[r] === 1 && !checker.formsAgree(r)) {
      fast[r] = 0;
      fastCount--;
    }
  }
  if (fastCount < MIN_FAST_RECORDS) return decodeRecords(batches, options);

  const raw = rawValues(batches, fast, fastCount);
  const slow = slowRecords(batches, fast, total - fastCount);
  const decoded = decodeRecords(slow.batches, options);
  const jsRows = withRecordNumbers(decoded.table, rowNumbers(slow, decoded.deadLetters));
  const duckdb: DuckdbJsonRows = {
    raw,
    jsRows,
    structure: `{${schema.map((c) => `"${c.name}":"${checker.structureType(c)}"`).join(',')}}`,
    columns: schema.map((c) => checker.columnSql(c)),
    expectedNonNull: schema.map((c, k) => checker.nonNull(k, fast) + jsRows.numRows - (jsRows.getChild(c.name)?.nullCount ?? 0)),
    decodeInJs: () => decodeRecords(batches, options),
  };
  let whole: SourceBatch | undefined;
  return {
    // Anyone who needs the batch as Arrow (rather than ingested by ingestSourceBatch) gets the JS decoder's table.
    get table(): arrow.Table {
      whole ??= duckdb.decodeInJs();
      return whole.table;
    },
    deadLetters: decoded.deadLetters,
    numRecords: total,
    duckdb,
  };
}

/** Per record: does DuckDB's json_transform provably give the JS decoder's row? */
class FastPathChecker {
  private readonly scanner: JsonObjectScanner;
  /** Per column: the TIMESTAMP form DuckDB reads (the first one seen). */
  private readonly forms: TimeForm[];
  /** Per column, per record: 0 = NULL or absent, else the form of the value (TimeForm.Text for non-TIMESTAMP). */
  private readonly seen: Uint8Array[];
  private record = 0;

  constructor(
    private readonly schema: ValueSchema,
    private readonly maxValueBytes: number,
    total: number,
  ) {
    this.scanner = new JsonObjectScanner(schema.map((c) => c.name));
    this.forms = schema.map(() => TimeForm.Unknown);
    this.seen = schema.map(() => new Uint8Array(total));
  }

  check(batch: RawRecordBatch, i: number): boolean {
    const record = this.record++;
    const b = batch.bytes;
    let value: Uint8Array;
    let start: number;
    let end: number;
    if (b) {
      const length = b.valueLength[i]!;
      if (length < 0 || length > this.maxValueBytes) return false;
      value = b.chunks[b.chunkOf[i]!]!;
      start = b.valueStart[i]!;
      end = start + length;
    } else {
      const v = batch.values[i];
      if (v == null || v.length > this.maxValueBytes) return false;
      value = v;
      start = 0;
      end = v.length;
    }
    const s = this.scanner;
    if (!s.scan(value, start, end) || s.duplicate || s.escapedKey || s.surrogate) return false;
    const schema = this.schema;
    for (let c = 0; c < schema.length; c++) {
      const kind = s.kind[c]!;
      if (kind === Kind.Absent || kind === Kind.Null) {
        if (schema[c]!.required) return false;
        continue;
      }
      const form = this.fits(schema[c]!, value, kind, s.start[c]!, s.end[c]!, s.flag[c] === 1);
      if (form === TimeForm.Unknown) return false;
      this.seen[c]![record] = form;
    }
    for (let c = 0; c < schema.length; c++) {
      const f = this.seen[c]![record]!;
      if (f !== 0 && this.forms[c] === TimeForm.Unknown) this.forms[c] = f;
    }
    return true;
  }

  /**
   * The form of the field's value when it converts in DuckDB exactly as in the JS decoder (`flag`: escaped
   * string, or integral number), else TimeForm.Unknown.
   */
  private fits(col: ColumnSpec, b: Uint8Array, kind: Kind, start: number, end: number, flag: boolean): TimeForm {
    let ok: boolean;
    switch (col.type) {
      case 'VARCHAR':
        ok = kind === Kind.String;
        break;
      case 'BOOLEAN':
        ok = kind === Kind.True || kind === Kind.False;
        break;
      case 'INTEGER':
        // at most 9 digits: always inside int32, and DuckDB reads the integer exactly
        ok = kind === Kind.Number && flag && digitCount(b, start, end) <= 9;
        break;
      case 'BIGINT':
        ok = kind === Kind.Number && flag && digitCount(b, start, end) <= 18;
        break;
      case 'DOUBLE':
        // DuckDB reads -0 as the integer 0 (+0.0); exponents past ±99 stay with the JS decoder (infinities, subnormals)
        ok = kind === Kind.Number && end - start <= 32 && !negativeZero(b, start, end) && smallExponent(b, start, end);
        break;
      case 'DATE':
        // year 0000 is a valid JS date; leave it to the JS decoder
        ok = kind === Kind.String && !flag && !Number.isNaN(parseDate(b, start, end)) && !yearZero(b, start);
        break;
      case 'TIMESTAMP':
        return timestampForm(b, kind, start, end, flag);
      default:
        ok = false;
    }
    return ok ? TimeForm.Text : TimeForm.Unknown;
  }

  /** Record `record`'s TIMESTAMP values are in their columns' chosen forms (else it goes to the JS decoder). */
  formsAgree(record: number): boolean {
    for (let c = 0; c < this.schema.length; c++) {
      const f = this.seen[c]![record]!;
      if (f !== 0 && f !== this.forms[c]) return false;
    }
    return true;
  }

  /** Non-NULL values of column `c` over the records marked in `fast`. */
  nonNull(c: number, fast: Uint8Array): number {
    const seen = this.seen[c]!;
    let n = 0;
    for (let r = 0; r < fast.length; r++) if (fast[r] === 1 && seen[r] !== 0) n++;
    return n;
  }

  structureType(col: ColumnSpec): string {
    if (col.type === 'TIMESTAMP') return this.forms[this.schema.indexOf(col)] === TimeForm.EpochMillis ? 'BIGINT' : 'TIMESTAMP';
    return col.type;
  }

  /** SQL for the column's value, from `__j` = json_transform(__v, structure). */
  columnSql(col: ColumnSpec): string {
    const field = `__j."${col.name}"`;
    if (col.type === 'TIMESTAMP' && this.forms[this.schema.indexOf(col)] === TimeForm.EpochMillis) return `make_timestamp(${field} * 1000)`;
    return field;
  }
}

function timestampForm(b: Uint8Array, kind: Kind, start: number, end: number, flag: boolean): TimeForm {
  if (kind === Kind.String) {
    // DuckDB ignores offsets, accepts 24:00 and not lower-case t/z: only the plain UTC forms go to it
    if (flag || !plainTimestamp(b, start, end) || !parseTimestamp(b, start, end) || yearZero(b, start)) return TimeForm.Unknown;
    return TimeForm.Text;
  }
  // whole epoch milliseconds well inside the microsecond range: µs = ms × 1000 exactly on both sides
  if (kind === Kind.Number && flag && digitCount(b, start, end) <= 15 && Math.abs(numberValue(b, start, end)) <= 9e12) return TimeForm.EpochMillis;
  return TimeForm.Unknown;
}

/** Digits of an integer literal (sign not counted). */
function digitCount(b: Uint8Array, start: number, end: number): number {
  return end - start - (b[start] === 0x2d ? 1 : 0);
}

/** `-0`, `-0.00`, `-0e5`: a zero with a minus sign. */
function negativeZero(b: Uint8Array, start: number, end: number): boolean {
  if (b[start] !== 0x2d) return false;
  for (let i = start + 1; i < end; i++) {
    const c = b[i]!;
    if (c === 0x65 || c === 0x45) break;
    if (c >= 0x31 && c <= 0x39) return false;
  }
  return true;
}

/** No exponent, or one of at most two digits. */
function smallExponent(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0x65 || c === 0x45) {
      let k = i + 1;
      if (b[k] === 0x2b || b[k] === 0x2d) k++;
      return end - k <= 2;
    }
  }
  return true;
}

function yearZero(b: Uint8Array, start: number): boolean {
  return b[start] === 0x30 && b[start + 1] === 0x30 && b[start + 2] === 0x30 && b[start + 3] === 0x30;
}

/** `YYYY-MM-DD`, or `YYYY-MM-DD(T| )HH:MM:SS[.fraction][Z]` (the forms DuckDB reads as the JS decoder does). */
function plainTimestamp(b: Uint8Array, start: number, end: number): boolean {
  const len = end - start;
  if (len === 10) return true;
  if (len < 19) return false;
  const sep = b[start + 10];
  if (sep !== 0x54 && sep !== 0x20) return false;
  if (b[start + 16] !== 0x3a) return false;
  let i = start + 19;
  if (i < end && b[i] === 0x2e) {
    i++;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  }
  if (i < end && b[i] === 0x5a) i++;
  return i === end;
}

/** The fast records' metadata columns, `__i` (record number in the batch) and `__v` (the value text). */
function rawValues(batches: readonly RawRecordBatch[], fast: Uint8Array, count: number): arrow.Table {
  const schema: ValueSchema = [{ name: '__v', type: 'VARCHAR', required: false }];
  let bytes = 0;
  let n = 0;
  for (const batch of batches) {
    for (let i = 0; i < batch.count; i++, n++) if (fast[n] === 1) bytes += valueLength(batch, i);
  }
  const out = new RowsBuilder(schema, batches, [bytes]);
  const v = out.values[0]!;
  const numbers = new Int32Array(count);
  n = 0;
  for (const batch of batches) {
    const from = out.rows;
    const offsetHalves = new Int32Array(batch.offsets.buffer, batch.offsets.byteOffset, batch.count * 2);
    const b = batch.bytes;
    for (let i = 0; i < batch.count; i++, n++) {
      if (fast[n] !== 1) continue;
      const row = out.rows;
      if (b) {
        const start = b.valueStart[i]!;
        v.utf8!.setBytes(row, b.chunks[b.chunkOf[i]!]!, start, start + b.valueLength[i]!);
      } else {
        const value = batch.values[i]!;
        v.utf8!.setBytes(row, value, 0, value.length);
      }
      v.validity.valid(row);
      numbers[row] = n;
      out.commit(batch, i, offsetHalves);
    }
    out.endBatch(batch, from);
  }
  return withRecordNumbers(out.finish(), numbers);
}

function valueLength(batch: RawRecordBatch, i: number): number {
  return batch.bytes ? Math.max(0, batch.bytes.valueLength[i]!) : (batch.values[i]?.length ?? 0);
}

interface SlowRecords {
  readonly batches: RawRecordBatch[];
  /** Record number in the whole batch of each slow record, in order. */
  readonly numbers: Int32Array;
}

/** The records left to the JS decoder, as batches of their own (one per input batch that has any). */
function slowRecords(batches: readonly RawRecordBatch[], fast: Uint8Array, count: number): SlowRecords {
  const out: RawRecordBatch[] = [];
  const numbers = new Int32Array(count);
  let k = 0;
  let n = 0;
  for (const batch of batches) {
    const picked: number[] = [];
    for (let i = 0; i < batch.count; i++, n++) {
      if (fast[n] === 1) continue;
      picked.push(i);
      numbers[k++] = n;
    }
    if (picked.length === 0) continue;
    out.push({
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
  return { batches: out, numbers };
}

/** Record numbers of the JS decoder's rows: the slow records in order, less the dead-lettered ones. */
function rowNumbers(slow: SlowRecords, deadLetters: readonly DeadLetter[]): Int32Array {
  const out = new Int32Array(slow.numbers.length - deadLetters.length);
  let d = 0;
  let row = 0;
  let k = 0;
  for (const batch of slow.batches) {
    for (let i = 0; i < batch.count; i++, k++) {
      const dead = deadLetters[d];
      if (dead && dead.partition === batch.partition && dead.topic === batch.topic && dead.offset === batch.offsets[i]) {
        d++;
        continue;
      }
      out[row++] = slow.numbers[k]!;
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
  if (batches.length === 0) return new arrow.Table(schema);
  return new arrow.Table(schema, batches);
}

