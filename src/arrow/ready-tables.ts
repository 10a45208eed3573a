import type * as arrow from 'apache-arrow';
import type { Engine } from '../sql/engine.js';
import { createTableSql } from './arrow-to-duckdb.js';

/**
 * Source tables emptied ahead of the next batch. Re-creating a source's temp table costs about as much as one
 * DuckDB statement (~1 ms here), which on a tiny batch is a large part of the ingest. After a batch the driver asks
 * for the table to be re-created empty in the background: DuckDB runs that statement while the main thread plans,
 * logs and reads the next batch. Ingest then only appends, if the table it finds was made for exactly its columns.
 *
 * Only an optimisation: nothing else writes to a source table between two batches (the engine is the driver's),
 * `take` hands a ready table out once, and a table that is not known ready is created as before.
 */
export class ReadyTables {
  /** Quoted table name → the CREATE statement it was last made empty with. */
  private readonly ready = new Map<string, string>();
  private inFlight: Promise<void> = Promise.resolve();

  /** Re-create `table` (quoted) empty, with the columns of `schema`, in the background. */
  prepare(engine: Engine, table: string, schema: arrow.Schema): void {
    this.ready.delete(table);
    const sql = createTableSql(table, schema, { temporary: true, replace: true });
    const done = engine.exclusive(async (c) => {
      await c.run(sql);
      this.ready.set(table, sql);
    });
    // A failure only means the next ingest creates the table itself (and meets the same error, if any, there).
    this.inFlight = Promise.all([this.inFlight, done.catch(() => undefined)]).then(() => undefined);
  }

  /**
   * Whether `table` is ready and empty with exactly the columns that `createSql` creates; true once only. Call it
   * inside the connection's exclusive section: then every `prepare` queued before has finished.
   */
  take(table: string, createSql: string): boolean {
    const ok = this.ready.get(table) === createSql;
    this.ready.delete(table);
    return ok;
  }

  /** Resolves when no background statement is left (before the engine closes). */
  settled(): Promise<void> {
    return this.inFlight;
  }
}
