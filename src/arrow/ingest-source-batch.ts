import type * as arrow from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import { performance } from 'node:perf_hooks';
import { ident } from '../sql/engine.js';
import { errorMessage } from '../errors.js';
import { fastPathSql } from '../source/decode/duckdb-json-sql.js';
import { METADATA_FIELDS } from '../source/schema.js';
import type { SourceBatch } from '../source/source.js';
import { appendArrow, createTableFromArrow, createTableSql } from './arrow-to-duckdb.js';
import type { ReadyTables } from './ready-tables.js';

/** What loading a source batch produced: the batch as it stands (a fallback may have re-decoded it) and timings. */
export interface IngestedBatch {
  readonly batch: SourceBatch;
  /** Time DuckDB spent decoding JSON values (json_transform), inside the whole ingest. */
  readonly decodeMs: number;
  /** Why DuckDB's decode was dropped for the JS decoder's, if it was. */
  readonly fallback?: string;
  /** Rows DuckDB decoded (the rest came from the JS decoder). */
  readonly duckdbRows: number;
}

/**
 * Load a source batch (its Arrow table, or `load`: those rows with fewer columns) into the temp table `name` (replacing it, or appending to it when `ready` says it was
 * re-created empty with the same columns since the last batch): Arrow rows as they are, or, for a batch with
 * DuckDB-decoded JSON (`batch.duckdb`), its raw values parsed by json_transform (src/source/decode/duckdb-json-sql.ts
 * keeps only the rows DuckDB proves the JS decoder would make alike) and the JS decoder's rows for the other records
 * merged back in record order; the returned batch then carries the final dead letters. Should DuckDB fail on the
 * batch, the JS decoder (the reference) decodes all of it and the returned batch is that one.
 */
export async function ingestSourceBatch(conn: DuckDBConnection, name: string, batch: SourceBatch, ready?: ReadyTables, load: arrow.Table = batch.table): Promise<IngestedBatch> {
  const table = ident(name);
  if (!batch.duckdb) {
    const create = createTableSql(table, load.schema, { temporary: true, replace: true });
    if (!ready?.take(table, create)) await conn.run(create);
    await appendArrow(conn, table, load);
    return { batch, decodeMs: 0, duckdbRows: 0 };
  }
  const d = batch.duckdb;
  const raw = ident(`__ds_raw_${name}`);
  const decoded = ident(`__ds_dec_${name}`);
  const js = ident(`__ds_js_${name}`);
  const meta = METADATA_FIELDS.map((f) => ident(f.name));
  const columns = [...meta, ...d.schema.map((c) => ident(c.name))].join(', ');
  try {
    await createTableFromArrow(conn, raw, d.raw, { temporary: true, replace: true });
    const t0 = performance.now();
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${decoded} AS ${fastPathSql(d.schema, raw, meta)}`);
    // The JS decoder takes every record DuckDB did not vouch for: no value, too large, or not proven alike.
    const pick = new Uint8Array(d.count).fill(1);
    for (const n of d.raw.getChild('__i')!.toArray() as Int32Array) pick[n] = 0;
    const refused = (await conn.runAndReadAll(`SELECT __i FROM ${decoded} WHERE NOT __ok`)).getColumns()[0] ?? [];
    for (const n of refused) pick[Number(n)] = 1;
    let jsBatch: SourceBatch | undefined;
    if (pick.includes(1)) jsBatch = d.decodeInJs(pick);
    const decodeMs = performance.now() - t0;
    if (jsBatch) {
      await createTableFromArrow(conn, js, jsBatch.table, { temporary: true, replace: true });
      await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT ${columns} FROM (SELECT __i, ${columns} FROM ${decoded} WHERE __ok UNION ALL SELECT __i, ${columns} FROM ${js}) ORDER BY __i`);
    } else {
      await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT ${columns} FROM ${decoded}`);
    }
    const done: SourceBatch = {
      // the rows are in DuckDB now; as Arrow they come from the JS decoder (same rows), built on first use
      get table() {
        return d.decodeAllInJs().table;
      },
      deadLetters: jsBatch?.deadLetters ?? [],
      numRecords: batch.numRecords,
      ...(batch.lostRanges ? { lostRanges: batch.lostRanges } : {}),
      ...(batch.timings ? { timings: batch.timings } : {}),
    };
    return { batch: done, decodeMs, duckdbRows: d.raw.numRows - refused.length };
  } catch (err) {
    // DuckDB failed on the batch: the JS decoder, the reference, decodes all of it.
    const whole = d.decodeAllInJs();
    await createTableFromArrow(conn, table, whole.table, { temporary: true, replace: true });
    return { batch: { ...whole, numRecords: batch.numRecords, ...(batch.lostRanges ? { lostRanges: batch.lostRanges } : {}), ...(batch.timings ? { timings: batch.timings } : {}) }, decodeMs: 0, duckdbRows: 0, fallback: errorMessage(err) };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${raw}; DROP TABLE IF EXISTS ${decoded}; DROP TABLE IF EXISTS ${js}`);
  }
}
