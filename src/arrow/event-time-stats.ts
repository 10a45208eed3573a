import * as arrow from 'apache-arrow';

/** Per partition key (`topic:partition`), the max event time in ms; and how many rows are behind the watermark. */
export interface EventTimeStats {
  readonly maxima: Map<string, number>;
  readonly late: number;
}

/** Arrow timestamp units → the exact factor to nanoseconds (the finest unit, so every comparison is exact). */
const NANOS_PER_UNIT: Record<arrow.TimeUnit, bigint> = {
  [arrow.TimeUnit.SECOND]: 1_000_000_000n,
  [arrow.TimeUnit.MILLISECOND]: 1_000_000n,
  [arrow.TimeUnit.MICROSECOND]: 1_000n,
  [arrow.TimeUnit.NANOSECOND]: 1n,
};

/**
 * What the driver's event-time query (queryEventTimeStats in src/driver/event-time-query.ts) gives for a source
 * table loaded from `table`, with `column` as the event time:
 *
 * ```sql
 * SELECT _topic || ':' || _partition AS p, epoch_ms(max(<column>))::BIGINT,
 *        count(*) FILTER (WHERE NOT (<column> >= make_timestamp(trunc(watermarkMs) * 1000)))
 * FROM <source> GROUP BY ALL
 * ```
 *
 * computed from the Arrow buffers instead, because on tiny batches that one statement costs as much as the rest
 * of the transform. Same semantics to the bit: nulls are neither a maximum nor late (`NULL >= w` is not true, and
 * `NOT NULL` is not true either), a partition whose event times are all null has no maximum, epoch_ms truncates
 * toward zero (before 1970 too), and the late test compares at the column's own precision (DuckDB compares
 * TIMESTAMP_NS with nanoseconds; seconds and milliseconds are widened to microseconds exactly).
 *
 * Undefined when this cannot promise the query's answer, and the caller runs the query: a column that is not a
 * plain timestamp (a time zone makes the comparison depend on the session's TimeZone), partition columns of an
 * unexpected type or with nulls.
 */
export function eventTimeStatsFromArrow(table: arrow.Table, column: string, watermarkMs: number | null): EventTimeStats | undefined {
  const index = fieldIndex(table.schema, column);
  const topicIndex = fieldIndex(table.schema, '_topic');
  const partitionIndex = fieldIndex(table.schema, '_partition');
  if (index === undefined || topicIndex === undefined || partitionIndex === undefined) return undefined;
  const type = table.schema.fields[index]!.type as arrow.DataType;
  if (!arrow.DataType.isTimestamp(type) || (type.timezone !== null && type.timezone !== undefined && type.timezone !== '')) return undefined;
  if (!arrow.DataType.isUtf8(table.schema.fields[topicIndex]!.type) || !isInt32(table.schema.fields[partitionIndex]!.type)) return undefined;
  const nanos = NANOS_PER_UNIT[type.unit];
  // Late: value × nanos < trunc(w) ms × 10^6, i.e. value < ceil(trunc(w) × 10^6 / nanos) in the column's unit.
  const threshold = watermarkMs === null ? undefined : ceilDiv(BigInt(Math.trunc(watermarkMs)) * 1_000_000n, nanos);
  const limit: Threshold = threshold === undefined ? undefined : { hi: Number(BigInt.asIntN(32, threshold >> 32n)), lo: Number(BigInt.asUintN(32, threshold)) };
  const tooBig = threshold !== undefined && threshold > 0x7fffffffffffffffn; // every value is late
  const tooSmall = threshold !== undefined && threshold < -0x8000000000000000n; // none is

  const best = new Map<string, { hi: number; lo: number }>();
  let late = 0;
  for (const batch of table.batches) {
    const topics = batch.data.children[topicIndex]!;
    const partitions = batch.data.children[partitionIndex]!;
    const times = batch.data.children[index]!;
    if (topics.nullCount > 0 || partitions.nullCount > 0) return undefined;
    const values = int64Words(times);
    const partitionValues = partitions.values as Int32Array;
    const topicOffsets = topics.valueOffsets as Int32Array;
    const topicBytes = topics.values as Uint8Array;
    const valid = times.nullCount > 0 ? times.nullBitmap : undefined;
    const rows = batch.numRows;
    // Rows come in runs of one partition: each run's maximum and late count are taken in a loop of their own.
    for (let i = 0; i < rows;) {
      const end = runEnd(partitionValues, topicOffsets, topicBytes, i, rows);
      const key = `${utf8.decode(topicBytes.subarray(topicOffsets[i]!, topicOffsets[i + 1]!))}:${partitionValues[i]!}`;
      const run = valid ? runStatsWithNulls(values, valid, times.offset, i, end, limit, tooBig, tooSmall) : runStats(values, i, end, limit, tooBig, tooSmall);
      late += run.late;
      if (run.found) {
        const current = best.get(key);
        if (current === undefined) best.set(key, { hi: run.hi, lo: run.lo });
        else if (run.hi > current.hi || (run.hi === current.hi && run.lo > current.lo)) {
          current.hi = run.hi;
          current.lo = run.lo;
        }
      }
      i = end;
    }
  }
  const maxima = new Map<string, number>();
  for (const [key, { hi, lo }] of best) {
    const value = (BigInt(hi) << 32n) | BigInt(lo);
    // BigInt division truncates toward zero, as epoch_ms does.
    maxima.set(key, Number((value * nanos) / 1_000_000n));
  }
  return { maxima, late };
}

const utf8 = new TextDecoder();

/** DuckDB binds identifiers case-insensitively: the one field named `name` in any case, if exactly one. */
function fieldIndex(schema: arrow.Schema, name: string): number | undefined {
  const exact = schema.fields.findIndex((f) => f.name === name);
  if (exact >= 0) return exact;
  const lower = name.toLowerCase();
  const matches = schema.fields.flatMap((f, i) => (f.name.toLowerCase() === lower ? [i] : []));
  return matches.length === 1 ? matches[0] : undefined;
}

function isInt32(type: arrow.DataType): boolean {
  return arrow.DataType.isInt(type) && type.bitWidth === 32 && type.isSigned;
}

/** An int64 column's values as (lo, hi) 32-bit word pairs: compared exactly without a BigInt per row. */
function int64Words(data: arrow.Data): Int32Array {
  const values = data.values as BigInt64Array;
  return new Int32Array(values.buffer, values.byteOffset, data.length * 2);
}

/**
 * Where the run of rows with row `from`'s partition and topic ends. The topic column repeats one string per row:
 * rows `from … j` share row `from`'s topic when each has its length and the bytes repeat with that period.
 */
function runEnd(partitions: Int32Array, offsets: Int32Array, bytes: Uint8Array, from: number, rows: number): number {
  const partition = partitions[from]!;
  const length = offsets[from + 1]! - offsets[from]!;
  let j = from + 1;
  while (j < rows && partitions[j] === partition && offsets[j + 1]! - offsets[j]! === length) j++;
  // The bytes of rows from+1 … j-1 must equal the row before them, i.e. repeat with period `length`.
  const first = offsets[from + 1]!;
  const last = offsets[j]!;
  for (let x = first; x < last; x++) {
    if (bytes[x] !== bytes[x - length]) return from + 1 + Math.floor((x - first) / length);
  }
  return j;
}

interface RunStats {
  found: boolean;
  hi: number;
  lo: number;
  late: number;
}

/** Max (as hi/lo words) and late count of rows `[from, end)` of a column without nulls. */
function runStats(words: Int32Array, from: number, end: number, threshold: Threshold, tooBig: boolean, tooSmall: boolean): RunStats {
  let hi = words[2 * from + 1]!;
  let lo = words[2 * from]! >>> 0;
  let late = 0;
  const checkLate = threshold !== undefined && !tooSmall;
  const tHi = threshold?.hi ?? 0;
  const tLo = threshold?.lo ?? 0;
  for (let i = from; i < end; i++) {
    const h = words[2 * i + 1]!;
    const l = words[2 * i]! >>> 0;
    if (checkLate && (tooBig || h < tHi || (h === tHi && l < tLo))) late++;
    if (h > hi || (h === hi && l > lo)) {
      hi = h;
      lo = l;
    }
  }
  return { found: end > from, hi, lo, late };
}

/** `runStats` for a column with nulls: a null is neither a maximum nor late. */
function runStatsWithNulls(
  words: Int32Array,
  valid: Uint8Array,
  offset: number,
  from: number,
  end: number,
  threshold: Threshold,
  tooBig: boolean,
  tooSmall: boolean,
): RunStats {
  let found = false;
  let hi = 0;
  let lo = 0;
  let late = 0;
  const checkLate = threshold !== undefined && !tooSmall;
  const tHi = threshold?.hi ?? 0;
  const tLo = threshold?.lo ?? 0;
  for (let i = from; i < end; i++) {
    const bit = offset + i;
    if (((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) continue;
    const h = words[2 * i + 1]!;
    const l = words[2 * i]! >>> 0;
    if (checkLate && (tooBig || h < tHi || (h === tHi && l < tLo))) late++;
    if (!found || h > hi || (h === hi && l > lo)) {
      found = true;
      hi = h;
      lo = l;
    }
  }
  return { found, hi, lo, late };
}

/** The late threshold in the column's unit, as int64 hi/lo words (undefined: no watermark yet). */
type Threshold = { readonly hi: number; readonly lo: number } | undefined;

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b < a ? q + 1n : q;
}
