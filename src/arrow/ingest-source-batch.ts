import type { DuckDBConnection } from '@duckdb/node-api';
import { performance } from 'node:perf_hooks';
import { ident, literal } from '../sql/engine.js';
import { errorMessage } from '../errors.js';
import { METADATA_FIELDS } from '../source/schema.js';
import type { DuckdbJsonRows, SourceBatch } from '../source/source.js';
import { createTableFromArrow } from './arrow-to-duckdb.js';

/** What loading a source batch produced: the batch as it stands (a fallback may have re-decoded it) and timings. */
export interface IngestedBatch {
  readonly batch: SourceBatch;
  /** Time DuckDB spent decoding JSON values (json_transform), inside the whole ingest. */
  readonly decodeMs: number;
  /** Why DuckDB's decode was dropped for the JS decoder's, if it was. */
  readonly fallback?: string;
}

/**
 * Load a source batch into the temp table `name` (replacing it): Arrow rows as they are, or, for a batch with
 * DuckDB-decoded JSON (`batch.duckdb`), its raw values parsed by json_transform and the JS decoder's rows merged
 * back in record order. Should DuckDB fail on a value or read one as NULL where the JS decoder did not, the whole
 * batch is decoded by the JS decoder instead (the reference): the returned batch is then that one.
 */
export async function ingestSourceBatch(conn: DuckDBConnection, name: string, batch: SourceBatch): Promise<IngestedBatch> {
  const table = ident(name);
  if (!batch.duckdb) {
    await createTableFromArrow(conn, table, batch.table, { temporary: true, replace: true });
    return { batch, decodeMs: 0 };
  }
  const d = batch.duckdb;
  const raw = ident(`__ds_raw_${name}`);
  const js = d.jsRows.numRows > 0 ? ident(`__ds_js_${name}`) : undefined;
  try {
    await createTableFromArrow(conn, raw, d.raw, { temporary: true, replace: true });
    if (js) await createTableFromArrow(conn, js, d.jsRows, { temporary: true, replace: true });
    const t0 = performance.now();
    await conn.run(mergeSql(table, raw, js, d));
    await checkCounts(conn, table, d);
    return { batch, decodeMs: performance.now() - t0 };
  } catch (err) {
    // DuckDB refused a value or read it differently: the JS decoder, the reference, decodes the whole batch.
    const whole = d.decodeInJs();
    await createTableFromArrow(conn, table, whole.table, { temporary: true, replace: true });
    return { batch: whole, decodeMs: 0, fallback: errorMessage(err) };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${raw}${js ? `; DROP TABLE IF EXISTS ${js}` : ''}`);
  }
}

/** The value columns' names, from the JS rows' schema (metadata first, `__i` last). */
function valueNames(d: DuckdbJsonRows): string[] {
  return d.jsRows.schema.fields.slice(METADATA_FIELDS.length, -1).map((f) => f.name);
}

/**
 * CREATE the batch table from the raw values (json_transform) and the JS rows, in record order. Without JS rows
 * the scan order is the record order already (DuckDB keeps insertion order for a projection).
 */
function mergeSql(table: string, raw: string, js: string | undefined, d: DuckdbJsonRows): string {
  const meta = METADATA_FIELDS.map((f) => ident(f.name));
  const values = valueNames(d).map(ident);
  const converted = d.columns.map((sql, k) => `${sql} AS ${values[k]}`);
  const fast = `SELECT __i, ${meta.join(', ')}, ${converted.join(', ')} FROM (SELECT *, json_transform(__v, ${literal(d.structure)}) AS __j FROM ${raw})`;
  const out = [...meta, ...values].join(', ');
  if (!js) return `CREATE OR REPLACE TEMP TABLE ${table} AS SELECT ${out} FROM (${fast})`;
  return `CREATE OR REPLACE TEMP TABLE ${table} AS SELECT ${out} FROM (${fast} UNION ALL SELECT __i, ${out} FROM ${js}) ORDER BY __i`;
}

/** Rows and non-NULL values per column must be what the JS decoder would give (json_transform turns what it cannot read into NULL). */
async function checkCounts(conn: DuckDBConnection, table: string, d: DuckdbJsonRows): Promise<void> {
  const values = valueNames(d);
  const counts = values.map((v, k) => `count(${ident(v)})::BIGINT AS c${k}`);
  const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n${counts.length > 0 ? `, ${counts.join(', ')}` : ''} FROM ${table}`);
  const row = reader.getRowObjects()[0]!;
  const rows = d.raw.numRows + d.jsRows.numRows;
  if (Number(row['n']) !== rows) throw new Error(`DuckDB made ${String(row['n'])} rows of ${rows} records`);
  values.forEach((v, k) => {
    if (Number(row[`c${k}`]) !== d.expectedNonNull[k]) throw new Error(`DuckDB read ${String(row[`c${k}`])} values of column '${v}', the JS decoder ${d.expectedNonNull[k]}`);
  });
}
