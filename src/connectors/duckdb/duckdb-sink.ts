import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ident, literal, type Engine } from '../../sql/engine.js';
import { DuckstreamError, errorMessage, externalError, internalError, userError } from '../../errors.js';
import type { Sink, SinkBatch } from '../../sink/sink.js';

/** Table in the output file recording, per sink, the last batch id whose rows are in it. */
export const SINK_COMMITS_TABLE = '_duckstream_sink_commits';

/**
 * Rows appended to a table of a DuckDB file, exactly once by batch id (docs/architecture.md#sink-contract).
 *
 * The file is ATTACHed to the driver's own engine (a DuckDB file has one writer; the driver is it). Each batch is ONE
 * transaction on the driver's connection that reads the batch's temp table (catalog `temp`) and writes only the
 * attached file: DuckDB allows this (a transaction may read any attached database but write to only one; the temp
 * table was created before BEGIN and is only read here), checked on DuckDB 1.5.6. In it:
 *   last := batch_id recorded for this sink in `_duckstream_sink_commits`
 *   if last ≥ batchId: nothing (a replay of a batch already in the table)
 *   else: INSERT the rows, upsert batch_id := batchId
 * so the rows and the batch id are committed together or not at all.
 *
 * `lastBatchId()` is what the driver checks against its commit log at start: cutting the file's WAL tail can lose
 * the last committed transaction (docs/architecture.md#known-hazards), and then that batch must be written again.
 */
export class DuckDbSink implements Sink {
  private engine: Engine | undefined;
  private alias: string | undefined;

  constructor(
    readonly name: string,
    /** Absolute path of the DuckDB file. */
    readonly path: string,
    readonly table: string,
  ) {}

  /** `"alias"."main"."table"` once open. */
  private get target(): string {
    return `${ident(this.requireAlias())}.main.${ident(this.table)}`;
  }

  private get commits(): string {
    return `${ident(this.requireAlias())}.main.${ident(SINK_COMMITS_TABLE)}`;
  }

  async open(engine: Engine): Promise<void> {
    this.engine = engine;
    mkdirSync(dirname(this.path), { recursive: true });
    this.alias = await attachShared(engine, this.path, `ds_sink_${this.name.replace(/[^A-Za-z0-9_]/g, '_')}`);
    await engine.run(`CREATE TABLE IF NOT EXISTS ${this.commits} (sink VARCHAR PRIMARY KEY, batch_id BIGINT NOT NULL)`);
  }

  async addBatch(batch: SinkBatch): Promise<void> {
    if (batch.engine !== this.engine) throw internalError(`sink '${this.name}': batch ${batch.batchId} comes from an engine it was not opened on`);
    try {
      await batch.engine.transaction(async (c) => {
        const reader = await c.runAndReadAll(`SELECT batch_id FROM ${this.commits} WHERE sink = $sink`, { sink: this.name });
        const last = reader.getRowObjectsJS()[0]?.['batch_id'];
        if (last !== undefined && last !== null && Number(last) >= batch.batchId) return;
        await c.run(`CREATE TABLE IF NOT EXISTS ${this.target} AS SELECT * FROM ${batch.relation} LIMIT 0`);
        // Update mode upserts on the key columns; complete mode replaces the whole table (Spark's output modes).
        if (batch.mode === 'complete') await c.run(`DELETE FROM ${this.target}`);
        if (batch.mode === 'update' && batch.keyColumns && batch.keyColumns.length > 0) {
          const keys = batch.keyColumns.map((k) => ident(k)).join(', ');
          await c.run(`DELETE FROM ${this.target} WHERE (${keys}) IN (SELECT ${keys} FROM ${batch.relation})`);
        }
        // BY NAME: columns matched by name, so a table whose column order differs cannot be filled wrongly.
        await c.run(`INSERT INTO ${this.target} BY NAME SELECT * FROM ${batch.relation}`);
        await c.run(`INSERT INTO ${this.commits} VALUES ($sink, $batch) ON CONFLICT (sink) DO UPDATE SET batch_id = excluded.batch_id`, {
          sink: this.name,
          batch: batch.batchId,
        });
      });
    } catch (err) {
      throw this.batchError(batch.batchId, err);
    }
  }

  async lastBatchId(): Promise<number | undefined> {
    const rows = await this.requireEngine().all(`SELECT batch_id FROM ${this.commits} WHERE sink = $sink`, { sink: this.name });
    const last = rows[0]?.['batch_id'];
    return last === undefined || last === null ? undefined : Number(last);
  }

  async close(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    if (engine === undefined || this.alias === undefined) return;
    await detachShared(engine, this.path);
    this.alias = undefined;
  }

  private batchError(batchId: number, err: unknown): DuckstreamError {
    const what = `sink '${this.name}': batch ${batchId} could not be written to table ${this.table} in ${this.path} (nothing of it was committed): ${errorMessage(err)}`;
    if (/^(Binder|Constraint|Conversion|Catalog) Error/.test(errorMessage(err))) {
      return userError(what, `make the query's output columns fit the existing table ${this.table} (names, types, constraints), or write to a new table`, err);
    }
    return externalError(what, true, err);
  }

  private requireEngine(): Engine {
    if (this.engine === undefined) throw internalError(`sink '${this.name}' used before open()`);
    return this.engine;
  }

  private requireAlias(): string {
    if (this.alias === undefined) throw internalError(`sink '${this.name}' used before open()`);
    return this.alias;
  }
}

/**
 * DuckDB refuses to attach one file twice in one instance, so sinks writing different tables of the same file share
 * one attachment: counted per engine and path, detached when the last of them closes.
 */
const attachments = new WeakMap<Engine, Map<string, { alias: string; refs: number; owned: boolean }>>();

async function attachShared(engine: Engine, path: string, alias: string): Promise<string> {
  let byPath = attachments.get(engine);
  if (byPath === undefined) attachments.set(engine, (byPath = new Map()));
  const known = byPath.get(path);
  if (known !== undefined) {
    known.refs++;
    return known.alias;
  }
  // Attached by someone else (e.g. the driver's own database file): use it, never detach it.
  const existing = await engine.all(`SELECT database_name FROM duckdb_databases() WHERE path = $path`, { path });
  const existingAlias = existing[0]?.['database_name'];
  if (typeof existingAlias === 'string') {
    byPath.set(path, { alias: existingAlias, refs: 1, owned: false });
    return existingAlias;
  }
  await engine.run(`ATTACH ${literal(path)} AS ${ident(alias)}`);
  byPath.set(path, { alias, refs: 1, owned: true });
  return alias;
}

async function detachShared(engine: Engine, path: string): Promise<void> {
  const byPath = attachments.get(engine);
  const known = byPath?.get(path);
  if (byPath === undefined || known === undefined) return;
  if (--known.refs > 0) return;
  byPath.delete(path);
  if (known.owned) await engine.run(`DETACH ${ident(known.alias)}`).catch(() => undefined);
}
