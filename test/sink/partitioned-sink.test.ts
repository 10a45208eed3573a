import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder } from '../../src/sink/partitioned-files.js';
import { ParquetSink } from '../../src/connectors/parquet/parquet-sink.js';
import { createSink } from '../../src/connectors/registry.js';
import { makeBatch, withEngine, withTempDir } from './helpers.js';

/** Batch k: rows (id, dt, hm) spread over two dates and two minutes; ids 10k+1 … 10k+4. */
const rows = (k: number) =>
  `SELECT * FROM (VALUES (${10 * k + 1}, '2025-01-01', '10:00'), (${10 * k + 2}, '2025-01-01', '10:01'), (${10 * k + 3}, '2025-01-02', '10:00'), (${10 * k + 4}, '2025-01-01', '10:00')) t(id, dt, hm)`;

describe('file sinks with partition_by', () => {
  it('writes Hive-style directories per batch; a replay leaves the output as if written once', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = new ParquetSink('q10', join(dir, 'q10'), 'zstd', ['dt', 'hm']);
        await sink.open(engine);
        await sink.addBatch(await makeBatch(engine, 0, rows(0)));
        await sink.addBatch(await makeBatch(engine, 1, rows(1)));
        await sink.addBatch(await makeBatch(engine, 1, rows(1))); // replay

        const data = filesUnder(sink.path).filter((f) => !f.startsWith('_manifest/'));
        expect(data.map((f) => f.replace(/[^/]+$/, ''))).toEqual([
          'dt=2025-01-01/hm=10%3A00/',
          'dt=2025-01-01/hm=10%3A00/',
          'dt=2025-01-01/hm=10%3A01/',
          'dt=2025-01-01/hm=10%3A01/',
          'dt=2025-01-02/hm=10%3A00/',
          'dt=2025-01-02/hm=10%3A00/',
        ]);
        expect(data.every((f) => /\/part-000000000[01]_\d+\.parquet$/.test(f))).toBe(true);
        const read = await engine.all(
          `SELECT id, dt, hm FROM read_parquet(${JSON.stringify(sink.glob).replaceAll('"', "'")}, hive_partitioning = true, hive_types_autocast = false) ORDER BY id`,
        );
        expect(read.map((r) => [r['id'], r['dt'], r['hm']])).toEqual([
          [1, '2025-01-01', '10:00'],
          [2, '2025-01-01', '10:01'],
          [3, '2025-01-02', '10:00'],
          [4, '2025-01-01', '10:00'],
          [11, '2025-01-01', '10:00'],
          [12, '2025-01-01', '10:01'],
          [13, '2025-01-02', '10:00'],
          [14, '2025-01-01', '10:00'],
        ]);
        const manifest = JSON.parse(readFileSync(sink.manifestPath(1), 'utf8'));
        expect(manifest.num_rows).toBe(4);
        expect(manifest.files).toEqual(data.filter((f) => f.includes('part-0000000001_')));
        expect(readdirSync(sink.stagingDir)).toEqual([]);
      }),
    ));

  it('an empty batch writes only its manifest; jsonl has no partition_by (DuckDB cannot partition JSON)', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = new ParquetSink('p', join(dir, 'p'), 'zstd', ['dt']);
        await sink.open(engine);
        await sink.addBatch(await makeBatch(engine, 0, rows(0)));
        await sink.addBatch(await makeBatch(engine, 1, `${rows(1)} WHERE false`));
        expect(filesUnder(sink.path)).toEqual([
          '_manifest/0000000000.json',
          '_manifest/0000000001.json',
          'dt=2025-01-01/part-0000000000_0.parquet',
          'dt=2025-01-02/part-0000000000_0.parquet',
        ]);
        expect(JSON.parse(readFileSync(sink.manifestPath(1), 'utf8')).files).toEqual([]);
        expect(() => createSink('j', { connector: 'jsonl', path: join(dir, 'j'), partition_by: 'dt' }, { jobDir: dir })).toThrow(
          /connector 'jsonl' does not take 'partition_by'/,
        );
      }),
    ));

  it('a partition column the query does not produce fails the batch with the sink and column named', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = createSink('q10', { connector: 'parquet', path: join(dir, 'q10'), partition_by: 'dt, nope' }, { jobDir: dir });
        await sink.open(engine);
        await expect(sink.addBatch(await makeBatch(engine, 0, rows(0)))).rejects.toThrow(/sink 'q10': writing batch 0 partitioned by dt, nope .*nope/s);
      }),
    ));

  it('refuses an empty or repeated partition_by', () => {
    expect(() => createSink('s', { connector: 'parquet', path: '/tmp/x', partition_by: 'dt,' }, { jobDir: '/tmp' })).toThrow(
      /partition_by = 'dt,' must name columns/,
    );
    expect(() => createSink('s', { connector: 'parquet', path: '/tmp/x', partition_by: 'dt, DT' }, { jobDir: '/tmp' })).toThrow(
      /partition_by = 'dt, DT' names a column twice/,
    );
  });
});
