import type * as arrow from 'apache-arrow';
import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBConnection } from '@duckdb/node-api';
import { userError } from '../errors.js';
import { ident } from '../sql/engine.js';
import { createColumnWriter, VECTOR_SIZE, type ColumnWriter, type StringStrategy } from './column-writer.js';
import { columnMappingOf, duckdbTypeOf } from './duckdb-type.js';

export { duckdbTypeOf };

export interface CreateTableOptions {
  /** CREATE TEMP TABLE. */
  readonly temporary?: boolean;
  /** CREATE OR REPLACE TABLE. */
  readonly replace?: boolean;
}

/** CREATE [TEMP] TABLE `table` (already-quoted SQL) with columns mapped from the Arrow schema, then append every row. */
export async function createTableFromArrow(conn: DuckDBConnection, table: string, data: arrow.Table, opts: CreateTableOptions = {}): Promise<void> {
  await conn.run(createTableSql(table, data.schema, opts));
  await appendArrow(conn, table, data);
}

/** The CREATE [OR REPLACE] [TEMP] TABLE statement for `table` (already-quoted SQL) with the columns of `schema`. */
export function createTableSql(table: string, schema: arrow.Schema, opts: CreateTableOptions = {}): string {
  const columns = schema.fields.map((f) => `${ident(f.name)} ${duckdbTypeOf(f)}`);
  if (columns.length === 0) throw userError(`cannot create table ${table}: the Arrow table has no columns`);
  const create = `CREATE ${opts.replace ? 'OR REPLACE ' : ''}${opts.temporary ? 'TEMP ' : ''}TABLE`;
  return `${create} ${table} (${columns.join(', ')})`;
}

/**
 * Append all rows of `data` to the existing table `table` (already-quoted SQL), whose columns match by position.
 * DuckDB casts where a column's type differs from the Arrow column's mapped type (e.g. Int32 into BIGINT).
 *
 * Not atomic on its own: the appender may flush part of the rows before an error; run it inside a transaction
 * when that matters.
 *
 * Why this method (bench/arrow-ingest.ts, numbers in bench/RESULTS.md): low-level @duckdb/node-bindings data chunks
 * of ≤ 2048 rows. Fixed-width columns and validity are bulk-copied straight from the Arrow buffers
 * (`copy_data_to_vector`); strings use the `heap-pointer` strategy (column-writer.ts): two N-API calls per string
 * column per chunk instead of one per value. It beat per-string assignment, the DuckDBAppender row API,
 * DuckDBDataChunk.setColumnValues and DuckDB generating the same table itself; letting DuckDB slice the bytes from a
 * temp file (read_blob) is quadratic. What remains is mostly DuckDB's appender and storage, not the JS side.
 */
export async function appendArrow(conn: DuckDBConnection, table: string, data: arrow.Table): Promise<void> {
  await appendArrowWith(conn, table, data, 'heap-pointer');
}

/** `appendArrow` with a choice of string strategy; for the benchmark, which compares them. */
export async function appendArrowWith(conn: DuckDBConnection, table: string, data: arrow.Table, strings: StringStrategy): Promise<void> {
  const writers = data.schema.fields.map((f) => createColumnWriter(f.name, columnMappingOf(f), strings));
  const [catalog, schema, name] = splitTableName(table);
  const appender = await conn.createAppender(name, schema, catalog);
  try {
    if (appender.columnCount !== writers.length) {
      throw userError(
        `cannot append to ${table}: it has ${appender.columnCount} columns and the Arrow table has ${writers.length}`,
        'columns are matched by position; select the Arrow columns in the order of the table',
      );
    }
    appendBatches(appender, writers, data.batches);
    appender.closeSync();
  } catch (err) {
    try {
      appender.clear();
      appender.closeSync();
    } catch {
      // the first error is the one to report
    }
    throw err;
  }
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendBatches(appender: Appender, writers: readonly ColumnWriter[], batches: readonly arrow.RecordBatch[]): void {
  if (writers.length === 0) return;
  const chunk = duckdb.create_data_chunk(writers.map((w) => w.logicalType));
  const wrapped = new DuckDBDataChunk(chunk);
  for (const batch of batches) {
    const columns = batch.data.children;
    for (let start = 0; start < batch.numRows; start += VECTOR_SIZE) {
      const count = Math.min(VECTOR_SIZE, batch.numRows - start);
      duckdb.data_chunk_reset(chunk);
      for (let c = 0; c < writers.length; c++) {
        writers[c]!.write(duckdb.data_chunk_get_vector(chunk, c), columns[c]!, start, count);
      }
      duckdb.data_chunk_set_size(chunk, count);
      appender.appendDataChunk(wrapped);
    }
  }
}

/** `"cat"."schema"."table"`, `main.t` or `t` → [catalog, schema, table] for the appender (which wants raw names). */
export function splitTableName(sql: string): [string | null, string | null, string] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*))\s*(\.|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < sql.length && (m = re.exec(sql)) !== null) {
    parts.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!);
    if (m[3] === '') break;
  }
  if (parts.length === 0 || parts.length > 3 || re.lastIndex !== sql.length) {
    throw userError(`'${sql}' is not a table name`, 'pass a quoted name such as "events" or "main"."events"');
  }
  const [a, b, c] = parts;
  if (parts.length === 1) return [null, null, a!];
  if (parts.length === 2) return [null, a!, b!];
  return [a!, b!, c!];
}
