import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbSink } from '../../src/connectors/duckdb/duckdb-sink.js';
import { DuckstreamError } from '../../src/errors.js';
import { Engine } from '../../src/sql/engine.js';
import { makeBatch, rowsOf, withEngine, withTempDir } from './helpers.js';

async function rowsIn(engine: Engine, alias: string, table: string): Promise<unknown[]> {
  return (await engine.all(`SELECT id, name FROM "${alias}".main."${table}" ORDER BY id`)).map((r) => [r['id'], r['name']]);
}

/** Read the file as a separate instance would after the driver is gone. */
async function readFile(path: string, sql: string): Promise<unknown[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  try {
    const c = await instance.connect();
    const rows = (await c.runAndReadAll(sql)).getRowsJson();
    c.closeSync();
    return rows;
  } finally {
    instance.closeSync();
  }
}

describe('DuckDbSink', () => {
  it('writes rows once per batch id; a replay is a no-op; lastBatchId follows', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'out', 'results.duckdb');
      await withEngine(async (engine) => {
        const sink = new DuckDbSink('errors', path, 'errors');
        await sink.open(engine);
        expect(await sink.lastBatchId()).toBeUndefined();
        await sink.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        expect(await sink.lastBatchId()).toBe(1);
        await sink.addBatch(await makeBatch(engine, 2, rowsOf(2)));
        await sink.addBatch(await makeBatch(engine, 2, rowsOf(2)));
        // An older batch id than the recorded one is a replay too.
        await sink.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        expect(await sink.lastBatchId()).toBe(2);
        expect(await rowsIn(engine, 'ds_sink_errors', 'errors')).toEqual([
          [1, 'row-1'],
          [2, 'row-2'],
          [3, 'row-3'],
          [4, 'row-4'],
        ]);
        await sink.close();
      });
      expect(await readFile(path, 'SELECT count(*)::INTEGER FROM errors')).toEqual([[4]]);
      expect(await readFile(path, 'SELECT sink, batch_id FROM _duckstream_sink_commits')).toEqual([['errors', '2']]);

      // A restarted driver sees the recorded batch id, and its replay of batch 2 changes nothing.
      await withEngine(async (engine) => {
        const sink = new DuckDbSink('errors', path, 'errors');
        await sink.open(engine);
        expect(await sink.lastBatchId()).toBe(2);
        await sink.addBatch(await makeBatch(engine, 2, rowsOf(2)));
        await sink.addBatch(await makeBatch(engine, 3, rowsOf(3)));
        expect((await rowsIn(engine, 'ds_sink_errors', 'errors')).length).toBe(6);
        await sink.close();
      });
    }));

  it('commits the rows and the batch id together: a failing INSERT moves neither', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'results.duckdb');
      await withEngine(async (engine) => {
        // The table exists with a constraint the CTAS would not give it.
        await engine.run(`ATTACH '${path}' AS setup; CREATE TABLE setup.errors (id INTEGER PRIMARY KEY, name VARCHAR); DETACH setup`);
        const sink = new DuckDbSink('errors', path, 'errors');
        await sink.open(engine);
        await sink.addBatch(await makeBatch(engine, 1, rowsOf(1)));

        // Batch 2: rows 3 and 4 are fine, then row 2 again violates the primary key.
        const dup = await makeBatch(engine, 2, `SELECT * FROM (VALUES (3, 'row-3'), (4, 'row-4'), (2, 'dup')) t(id, name)`);
        const err = await sink.addBatch(dup).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(DuckstreamError);
        expect((err as DuckstreamError).domain).toBe('user');
        expect((err as Error).message).toMatch(
          /sink 'errors': batch 2 could not be written to table errors .* \(nothing of it was committed\): Constraint Error/,
        );
        expect(await sink.lastBatchId()).toBe(1);
        expect(await rowsIn(engine, 'ds_sink_errors', 'errors')).toEqual([
          [1, 'row-1'],
          [2, 'row-2'],
        ]);

        // Batch 2 with a value that does not convert (fails mid-way through the rows): same.
        const bad = await makeBatch(engine, 2, `SELECT * FROM (VALUES ('3', 'row-3'), ('four', 'row-4')) t(id, name)`);
        await expect(sink.addBatch(bad)).rejects.toThrow(/Conversion Error/);
        expect(await sink.lastBatchId()).toBe(1);
        expect((await rowsIn(engine, 'ds_sink_errors', 'errors')).length).toBe(2);

        // The engine is usable afterwards and the right batch 2 goes in.
        await sink.addBatch(await makeBatch(engine, 2, rowsOf(2)));
        expect(await sink.lastBatchId()).toBe(2);
        expect((await rowsIn(engine, 'ds_sink_errors', 'errors')).length).toBe(4);
        await sink.close();
      });
    }));

  it('a failure recording the batch id after the rows went in takes the rows back out', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'results.duckdb');
      await withEngine(async (engine) => {
        // A commits table that refuses batch ids ≥ 2: the INSERT of batch 2's rows succeeds, the upsert after it fails.
        await engine.run(
          `ATTACH '${path}' AS setup; CREATE TABLE setup._duckstream_sink_commits (sink VARCHAR PRIMARY KEY, batch_id BIGINT CHECK (batch_id < 2)); DETACH setup`,
        );
        const sink = new DuckDbSink('errors', path, 'errors');
        await sink.open(engine);
        await sink.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        await expect(sink.addBatch(await makeBatch(engine, 2, rowsOf(2)))).rejects.toThrow(/batch 2 .*Constraint Error/);
        expect(await sink.lastBatchId()).toBe(1);
        expect(await rowsIn(engine, 'ds_sink_errors', 'errors')).toEqual([
          [1, 'row-1'],
          [2, 'row-2'],
        ]);
        await sink.close();
      });
    }));

  it('matches columns by name and lets two sinks share one file', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'results.duckdb');
      await withEngine(async (engine) => {
        const a = new DuckDbSink('a', path, 'a');
        const b = new DuckDbSink('b', path, 'b');
        await a.open(engine);
        await b.open(engine);
        await a.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        await a.addBatch(await makeBatch(engine, 2, `SELECT name, id FROM (${rowsOf(2)})`));
        await b.addBatch(await makeBatch(engine, 7, rowsOf(1)));
        expect(await rowsIn(engine, 'ds_sink_a', 'a')).toEqual([
          [1, 'row-1'],
          [2, 'row-2'],
          [3, 'row-3'],
          [4, 'row-4'],
        ]);
        expect([await a.lastBatchId(), await b.lastBatchId()]).toEqual([2, 7]);
        await a.close();
        // b still works after a closed (the attachment is shared and counted).
        await b.addBatch(await makeBatch(engine, 8, rowsOf(2)));
        expect(await b.lastBatchId()).toBe(8);
        await b.close();
        expect(await engine.all(`SELECT database_name FROM duckdb_databases() WHERE path = '${path}'`)).toEqual([]);
      });
    }));
});
