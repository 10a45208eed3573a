import * as arrow from 'apache-arrow';
import duckdb from '@duckdb/node-bindings';
import { userError } from '../errors.js';
import { DUCKDB_TYPE_METADATA } from '../source/schema.js';

/**
 * How one Arrow column becomes one DuckDB column: the SQL type for CREATE TABLE, the DuckDB type id of the
 * data-chunk vector we fill, and which writer fills it (see column-writer.ts).
 */
export interface ColumnMapping {
  readonly sqlType: string;
  readonly typeId: duckdb.Type;
  readonly write: WriteKind;
}

export type WriteKind =
  /** Same bytes per value on both sides: one bulk copy per chunk. */
  | { readonly kind: 'copy'; readonly width: 1 | 2 | 4 | 8 }
  /** Arrow bit-packed booleans → DuckDB one byte per value. */
  | { readonly kind: 'bool' }
  /** int64 multiplied by `factor` (seconds or milliseconds → microseconds), overflow checked. */
  | { readonly kind: 'scale64'; readonly factor: number }
  /** int64 milliseconds since the epoch → int32 days (Arrow date64 → DATE). */
  | { readonly kind: 'dateMs' }
  /** Variable-width bytes with int32 or int64 offsets; `utf8` ones are checked to be valid UTF-8. */
  | { readonly kind: 'bytes'; readonly utf8: boolean }
  /** Dictionary-encoded strings or bytes: integer indices into a dictionary of variable-width values. */
  | { readonly kind: 'dictionary'; readonly utf8: boolean };

/** The DuckDB column type for an Arrow field; throws a user error naming the column for types we do not ingest. */
export function duckdbTypeOf(field: arrow.Field): string {
  return columnMappingOf(field).sqlType;
}

export function columnMappingOf(field: arrow.Field): ColumnMapping {
  const t: arrow.DataType = field.type;
  if (arrow.DataType.isBool(t)) return { sqlType: 'BOOLEAN', typeId: duckdb.Type.BOOLEAN, write: { kind: 'bool' } };
  if (arrow.DataType.isInt(t)) return intMapping(t);
  if (arrow.DataType.isFloat(t)) {
    if (t.precision === arrow.Precision.SINGLE) return copy('FLOAT', duckdb.Type.FLOAT, 4);
    if (t.precision === arrow.Precision.DOUBLE) return copy('DOUBLE', duckdb.Type.DOUBLE, 8);
  }
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t)) return stringMapping(field, 'bytes');
  if (arrow.DataType.isBinary(t) || arrow.DataType.isLargeBinary(t)) {
    return { sqlType: 'BLOB', typeId: duckdb.Type.BLOB, write: { kind: 'bytes', utf8: false } };
  }
  if (arrow.DataType.isTimestamp(t)) {
    const mapping = timestampMapping(t);
    if (mapping) return mapping;
  }
  if (arrow.DataType.isDate(t)) {
    if (t.unit === arrow.DateUnit.DAY) return copy('DATE', duckdb.Type.DATE, 4);
    return { sqlType: 'DATE', typeId: duckdb.Type.DATE, write: { kind: 'dateMs' } };
  }
  if (arrow.DataType.isDictionary(t) && arrow.DataType.isInt(t.indices)) {
    const values: arrow.DataType = t.dictionary;
    if (arrow.DataType.isUtf8(values) || arrow.DataType.isLargeUtf8(values)) return stringMapping(field, 'dictionary');
    if (arrow.DataType.isBinary(values) || arrow.DataType.isLargeBinary(values)) {
      return { sqlType: 'BLOB', typeId: duckdb.Type.BLOB, write: { kind: 'dictionary', utf8: false } };
    }
  }
  throw userError(
    `column '${field.name}' has Arrow type ${String(t)}, which cannot be loaded into DuckDB`,
    'supported Arrow types: Bool, Int8-64, Uint8-64, Float32/64, Utf8, LargeUtf8, Binary, LargeBinary, ' +
      'Timestamp (s/ms/us; ns without a time zone), Date (day/ms) and dictionaries of strings; cast the column to one of them',
  );
}

function copy(sqlType: string, typeId: duckdb.Type, width: 1 | 2 | 4 | 8): ColumnMapping {
  return { sqlType, typeId, write: { kind: 'copy', width } };
}

function intMapping(t: arrow.Int): ColumnMapping {
  const width = (t.bitWidth / 8) as 1 | 2 | 4 | 8;
  const signed: Record<number, [string, duckdb.Type]> = {
    1: ['TINYINT', duckdb.Type.TINYINT],
    2: ['SMALLINT', duckdb.Type.SMALLINT],
    4: ['INTEGER', duckdb.Type.INTEGER],
    8: ['BIGINT', duckdb.Type.BIGINT],
  };
  const unsigned: Record<number, [string, duckdb.Type]> = {
    1: ['UTINYINT', duckdb.Type.UTINYINT],
    2: ['USMALLINT', duckdb.Type.USMALLINT],
    4: ['UINTEGER', duckdb.Type.UINTEGER],
    8: ['UBIGINT', duckdb.Type.UBIGINT],
  };
  const [sqlType, typeId] = (t.isSigned ? signed : unsigned)[width]!;
  return copy(sqlType, typeId, width);
}

function stringMapping(field: arrow.Field, kind: 'bytes' | 'dictionary'): ColumnMapping {
  const json = field.metadata.get(DUCKDB_TYPE_METADATA)?.toUpperCase() === 'JSON';
  // JSON is VARCHAR with an alias: same vector, and the appender accepts VARCHAR chunks for JSON columns as they are.
  return { sqlType: json ? 'JSON' : 'VARCHAR', typeId: duckdb.Type.VARCHAR, write: { kind, utf8: true } };
}

/** Seconds and milliseconds are widened to DuckDB's microsecond TIMESTAMP; nanoseconds keep their precision in TIMESTAMP_NS. */
function timestampMapping(t: arrow.Timestamp): ColumnMapping | undefined {
  const tz = t.timezone !== null && t.timezone !== undefined && t.timezone !== '';
  const sqlType = tz ? 'TIMESTAMP WITH TIME ZONE' : 'TIMESTAMP';
  const typeId = tz ? duckdb.Type.TIMESTAMP_TZ : duckdb.Type.TIMESTAMP;
  switch (t.unit) {
    case arrow.TimeUnit.SECOND:
      return { sqlType, typeId, write: { kind: 'scale64', factor: 1_000_000 } };
    case arrow.TimeUnit.MILLISECOND:
      return { sqlType, typeId, write: { kind: 'scale64', factor: 1_000 } };
    case arrow.TimeUnit.MICROSECOND:
      return copy(sqlType, typeId, 8);
    case arrow.TimeUnit.NANOSECOND:
      // DuckDB has no nanosecond TIMESTAMPTZ; refuse rather than silently dropping digits.
      return tz ? undefined : copy('TIMESTAMP_NS', duckdb.Type.TIMESTAMP_NS, 8);
  }
  return undefined;
}
