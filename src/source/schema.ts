import * as arrow from 'apache-arrow';
import { METADATA_COLUMNS, type MetadataColumn } from './metadata-columns.js';

/**
 * The value column types a source can declare (`schema = 'ts TIMESTAMP, url VARCHAR, status INTEGER'`)
 * or infer. Each maps to one Arrow type and one DuckDB type.
 */
export const COLUMN_TYPES = ['BOOLEAN', 'INTEGER', 'BIGINT', 'DOUBLE', 'VARCHAR', 'TIMESTAMP', 'DATE', 'JSON', 'BLOB'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** A record without this field is dead-lettered instead of getting a NULL. */
  readonly required: boolean;
}

export type ValueSchema = readonly ColumnSpec[];

/** Arrow field metadata key telling the DuckDB ingest that a Utf8 column holds JSON text. */
export const DUCKDB_TYPE_METADATA = 'duckstream.duckdb_type';

export function arrowTypeOf(type: ColumnType): arrow.DataType {
  switch (type) {
    case 'BOOLEAN':
      return new arrow.Bool();
    case 'INTEGER':
      return new arrow.Int32();
    case 'BIGINT':
      return new arrow.Int64();
    case 'DOUBLE':
      return new arrow.Float64();
    case 'VARCHAR':
    case 'JSON':
      return new arrow.Utf8();
    case 'TIMESTAMP':
      return new arrow.TimestampMicrosecond();
    case 'DATE':
      return new arrow.DateDay();
    case 'BLOB':
      return new arrow.Binary();
  }
}

export function arrowFieldOf(spec: ColumnSpec): arrow.Field {
  const metadata = spec.type === 'JSON' ? new Map([[DUCKDB_TYPE_METADATA, 'JSON']]) : undefined;
  return new arrow.Field(spec.name, arrowTypeOf(spec.type), !spec.required, metadata);
}

const METADATA_FIELD: Record<MetadataColumn, arrow.Field> = {
  _topic: new arrow.Field('_topic', new arrow.Utf8(), false),
  _partition: new arrow.Field('_partition', new arrow.Int32(), false),
  _offset: new arrow.Field('_offset', new arrow.Int64(), false),
  _timestamp: new arrow.Field('_timestamp', new arrow.TimestampMicrosecond(), false),
  _key: new arrow.Field('_key', new arrow.Utf8(), true),
};

/** Metadata columns every source row carries, before the value columns (METADATA_COLUMNS as Arrow fields). */
export const METADATA_FIELDS: readonly arrow.Field[] = METADATA_COLUMNS.map((name) => METADATA_FIELD[name]);

export function batchSchema(values: ValueSchema): arrow.Schema {
  return new arrow.Schema([...METADATA_FIELDS, ...values.map(arrowFieldOf)]);
}

/** Parse `'ts TIMESTAMP, url VARCHAR NOT NULL'`; throws a message naming the bad part. */
export function parseSchemaText(text: string): ValueSchema {
  const specs: ColumnSpec[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const m = /^("?)([A-Za-z_][A-Za-z0-9_]*)\1\s+([A-Za-z]+)(\s+NOT\s+NULL)?$/i.exec(part);
    if (!m) throw new Error(`cannot read column '${part}': write it as '<name> <TYPE> [NOT NULL]'`);
    const type = normaliseType(m[3]!);
    if (!type) throw new Error(`column '${m[2]}' has type '${m[3]}'; supported types: ${COLUMN_TYPES.join(', ')}`);
    specs.push({ name: m[2]!, type, required: m[4] !== undefined });
  }
  if (specs.length === 0) throw new Error('the schema declares no columns');
  return specs;
}

const TYPE_ALIASES: Record<string, ColumnType> = {
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  INT: 'INTEGER',
  INTEGER: 'INTEGER',
  INT4: 'INTEGER',
  BIGINT: 'BIGINT',
  INT8: 'BIGINT',
  LONG: 'BIGINT',
  DOUBLE: 'DOUBLE',
  FLOAT8: 'DOUBLE',
  REAL: 'DOUBLE',
  FLOAT: 'DOUBLE',
  VARCHAR: 'VARCHAR',
  TEXT: 'VARCHAR',
  STRING: 'VARCHAR',
  TIMESTAMP: 'TIMESTAMP',
  DATETIME: 'TIMESTAMP',
  DATE: 'DATE',
  JSON: 'JSON',
  BLOB: 'BLOB',
  BYTES: 'BLOB',
  BYTEA: 'BLOB',
};

function normaliseType(t: string): ColumnType | undefined {
  return TYPE_ALIASES[t.toUpperCase()];
}

export function schemaToText(schema: ValueSchema): string {
  return schema.map((c) => `${c.name} ${c.type}${c.required ? ' NOT NULL' : ''}`).join(', ');
}
