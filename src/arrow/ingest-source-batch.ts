import type * as arrow from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ident } from '../sql/engine.js';
import type { SourceBatch } from '../source/source.js';
import { appendArrow, createTableSql } from './arrow-to-duckdb.js';
import type { ReadyTables } from './ready-tables.js';

/**
 * Load a source batch (its Arrow table, or `load`: those rows with fewer columns) into the temp table `name`:
 * replacing it, or appending to it when `ready` says it was re-created empty with the same columns since the last
 * batch (the CREATE then costs nothing on the batch's own path).
 */
export async function ingestSourceBatch(
  conn: DuckDBConnection,
  name: string,
  batch: SourceBatch,
  ready?: ReadyTables,
  load: arrow.Table = batch.table,
): Promise<void> {
  const table = ident(name);
  const create = createTableSql(table, load.schema, { temporary: true, replace: true });
  if (!ready?.take(table, create)) await conn.run(create);
  await appendArrow(conn, table, load);
}
