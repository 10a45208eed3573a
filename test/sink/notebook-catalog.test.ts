import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { publishCatalog } from '../../src/sink/notebook-catalog.js';
import { ParquetSink } from '../../src/connectors/parquet/parquet-sink.js';
import { makeBatch, rowsOf, withEngine, withTempDir } from './helpers.js';

/** A notebook: its own DuckDB instance, read-only, on the catalog file. */
async function openNotebook(path: string) {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const c = await instance.connect();
  return {
    query: async (sql: string) => (await c.runAndReadAll(sql)).getRowsJson(),
    close: () => {
      c.closeSync();
      instance.closeSync();
    },
  };
}

describe('publishCatalog', () => {
  it('gives notebooks a read-only file of views over committed Parquet while the sink keeps writing', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const errors = new ParquetSink('errors', join(dir, 'out', 'errors'));
        const counts = new ParquetSink('counts', join(dir, 'out', 'counts'));
        await errors.open(engine);
        await counts.open(engine);
        const catalog = join(dir, 'out', 'catalog.duckdb');
        const views = [
          { name: 'errors', parquetGlob: errors.glob },
          { name: 'counts', parquetGlob: counts.glob },
        ];

        // Nothing written yet: the file still opens, the views wait for their first file.
        expect(await publishCatalog(catalog, views, 'job.sql')).toEqual({ views: [], pending: ['errors', 'counts'] });
        const early = await openNotebook(catalog);
        expect(await early.query('SELECT name, available FROM _duckstream_catalog ORDER BY name')).toEqual([
          ['counts', false],
          ['errors', false],
        ]);
        early.close();

        await errors.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        expect(await publishCatalog(catalog, views, 'job.sql')).toEqual({ views: ['errors'], pending: ['counts'] });
        expect(
          readdirSync(join(dir, 'out'))
            .filter((f) => f.includes('catalog'))
            .sort(),
        ).toEqual(['.catalog.duckdb.lock', 'catalog.duckdb']);

        const notebook = await openNotebook(catalog);
        expect(await notebook.query('SELECT id, name FROM errors ORDER BY id')).toEqual([
          [1, 'row-1'],
          [2, 'row-2'],
        ]);
        // The driver writes on, and republishes while the notebook has the old catalog open.
        await errors.addBatch(await makeBatch(engine, 2, rowsOf(2)));
        await counts.addBatch(await makeBatch(engine, 2, 'SELECT 42 AS n'));
        expect(await notebook.query('SELECT count(*)::INTEGER FROM errors')).toEqual([[4]]);
        expect(await publishCatalog(catalog, views, 'job.sql')).toEqual({ views: ['errors', 'counts'], pending: [] });
        expect(await notebook.query('SELECT count(*)::INTEGER FROM errors')).toEqual([[4]]);
        await expect(notebook.query('SELECT * FROM counts')).rejects.toThrow(/counts does not exist/);
        notebook.close();

        const fresh = await openNotebook(catalog);
        expect(await fresh.query('SELECT n FROM counts')).toEqual([[42]]);
        expect(await fresh.query('SELECT count(*)::INTEGER FROM errors')).toEqual([[4]]);
        await expect(fresh.query('CREATE TABLE t (x INT)')).rejects.toThrow(/read-only/);
        fresh.close();
        expect(existsSync(`${catalog}.wal`)).toBe(false);
      }),
    ));

  it('is shared: each job replaces only its own views, a name another job owns is refused, old catalogs start over', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const a = new ParquetSink('a', join(dir, 'out', 'a'));
        const b = new ParquetSink('b', join(dir, 'out', 'b'));
        await a.open(engine);
        await b.open(engine);
        await a.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        await b.addBatch(await makeBatch(engine, 1, 'SELECT 7 AS n'));
        const catalog = join(dir, 'out', 'catalog.duckdb');
        // A catalog from before views had owners, and a temp a killed publisher left.
        const old = await DuckDBInstance.create(catalog);
        const oc = await old.connect();
        await oc.run(`CREATE TABLE _duckstream_catalog (name VARCHAR PRIMARY KEY, parquet_glob VARCHAR NOT NULL, available BOOLEAN NOT NULL)`);
        await oc.run(`CREATE VIEW stale AS SELECT 1 AS x`);
        await oc.run(`INSERT INTO _duckstream_catalog VALUES ('stale', 'x', true)`);
        await oc.run('CHECKPOINT');
        oc.closeSync();
        old.closeSync();
        writeFileSync(join(dir, 'out', '.catalog.duckdb.4000000.tmp'), 'half');

        expect(
          await publishCatalog(
            catalog,
            [
              { name: 'a', parquetGlob: a.glob },
              { name: 'gone', parquetGlob: join(dir, 'none', '*.parquet') },
            ],
            'A.sql',
          ),
        ).toEqual({
          views: ['a'],
          pending: ['gone'],
        });
        expect(await publishCatalog(catalog, [{ name: 'b', parquetGlob: b.glob }], 'B.sql')).toEqual({ views: ['b'], pending: [] });
        await expect(publishCatalog(catalog, [{ name: 'a', parquetGlob: b.glob }], 'B.sql')).rejects.toThrow(
          `notebook catalog ${catalog}: view 'a' of job B.sql is already owned by job A.sql`,
        );
        // Job A republishes without its pending sink: B's view stays.
        expect(await publishCatalog(catalog, [{ name: 'a', parquetGlob: a.glob }], 'A.sql')).toEqual({ views: ['a'], pending: [] });

        const notebook = await openNotebook(catalog);
        expect(await notebook.query('SELECT count(*)::INTEGER FROM a')).toEqual([[2]]);
        expect(await notebook.query('SELECT n FROM b')).toEqual([[7]]);
        expect(await notebook.query('SELECT name, job, available FROM _duckstream_catalog ORDER BY name')).toEqual([
          ['a', 'A.sql', true],
          ['b', 'B.sql', true],
        ]);
        expect(await notebook.query(`SELECT count(*)::INTEGER FROM duckdb_views() WHERE view_name = 'stale'`)).toEqual([[0]]);
        notebook.close();
        expect(
          readdirSync(join(dir, 'out'))
            .filter((f) => f.includes('catalog'))
            .sort(),
        ).toEqual(['.catalog.duckdb.lock', 'catalog.duckdb']);
      }),
    ));
});
