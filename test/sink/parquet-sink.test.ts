import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParquetSink } from '../../src/connectors/parquet/parquet-sink.js';
import type { Engine } from '../../src/sql/engine.js';
import { makeBatch, rowsOf, withEngine, withTempDir } from './helpers.js';

async function readTable(engine: Engine, glob: string): Promise<unknown[]> {
  const rows = await engine.all(`SELECT id, name FROM read_parquet('${glob}') ORDER BY id`);
  return rows.map((r) => [r['id'], r['name']]);
}

const rows12 = [
  [1, 'row-1'],
  [2, 'row-2'],
  [3, 'row-3'],
  [4, 'row-4'],
];

describe('ParquetSink', () => {
  it('writes one file per batch id; a replay leaves the output as if written once', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = new ParquetSink('errors', join(dir, 'out', 'errors'));
        await sink.open(engine);
        await sink.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        await sink.addBatch(await makeBatch(engine, 2, rowsOf(2)));
        await sink.addBatch(await makeBatch(engine, 2, rowsOf(2)));

        expect(await readTable(engine, sink.glob)).toEqual(rows12);
        expect(await readTable(engine, join(sink.path, '**', '*.parquet'))).toEqual(rows12);
        expect(readdirSync(sink.path).sort()).toEqual(['_manifest', 'part-0000000001.parquet', 'part-0000000002.parquet']);
        expect(readdirSync(sink.manifestDir).sort()).toEqual(['0000000001.json', '0000000002.json']);
        expect(JSON.parse(readFileSync(sink.manifestPath(2), 'utf8'))).toEqual({
          version: 1,
          sink: 'errors',
          batch_id: 2,
          batch_time: '2025-01-01T00:00:02.000Z',
          num_rows: 2,
          files: ['part-0000000002.parquet'],
        });
        expect(sink.stagingDir).toBe(join(dir, 'out', '.errors.staging'));
        expect(readdirSync(sink.stagingDir)).toEqual([]);
      }),
    ));

  it('addQuery writes the same files as addBatch straight from the query: counts, empty batches, replays, no fsync', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const viaTable = new ParquetSink('t', join(dir, 'out', 'table'));
        const viaQuery = new ParquetSink('t', join(dir, 'out', 'query'));
        for (const sink of [viaTable, viaQuery]) await sink.open(engine);
        const empty = "SELECT * FROM (VALUES (0, 'x')) t(id, name) WHERE id > 0";
        for (const [batchId, select] of [
          [1, rowsOf(1)],
          [2, empty],
          [3, rowsOf(3)],
        ] as const) {
          const batchTime = Date.UTC(2025, 0, 1) + batchId * 1000;
          await viaTable.addBatch(await makeBatch(engine, batchId, select));
          expect(await viaQuery.addQuery({ batchId, batchTime, engine, query: select })).toBe(batchId === 2 ? 0 : 2);
        }
        // A replay (same batch id, same rows) with fsync off: as if written once.
        expect(await viaQuery.addQuery({ batchId: 3, batchTime: Date.UTC(2025, 0, 1) + 3000, engine, query: rowsOf(3), fsync: false })).toBe(2);
        expect(await readTable(engine, viaQuery.glob)).toEqual(await readTable(engine, viaTable.glob));
        expect(readdirSync(viaQuery.path).sort()).toEqual(['_manifest', 'part-0000000001.parquet', 'part-0000000003.parquet']);
        for (const id of [1, 2, 3]) expect(readFileSync(viaQuery.manifestPath(id), 'utf8')).toBe(readFileSync(viaTable.manifestPath(id), 'utf8'));
        expect(readdirSync(viaQuery.manifestDir).sort()).toEqual(['0000000001.json', '0000000002.json', '0000000003.json']);
        expect(readdirSync(viaQuery.stagingDir)).toEqual([]);
      }),
    ));

  it('uses zstd by default when DuckDB has it, and the configured codec otherwise', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const byDefault = new ParquetSink('a', join(dir, 'a'));
        const snappy = new ParquetSink('b', join(dir, 'b'), 'snappy');
        for (const sink of [byDefault, snappy]) {
          await sink.open(engine);
          await sink.addBatch(await makeBatch(engine, 0, rowsOf(1)));
        }
        expect(byDefault.effectiveCompression).toBe('zstd');
        const codec = async (sink: ParquetSink) =>
          (await engine.all(`SELECT DISTINCT compression FROM parquet_metadata('${sink.glob}')`)).map((r) => r['compression']);
        expect(await codec(byDefault)).toEqual(['ZSTD']);
        expect(await codec(snappy)).toEqual(['SNAPPY']);
      }),
    ));

  it('an empty batch writes its manifest entry but no data file', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = new ParquetSink('errors', join(dir, 'errors'));
        await sink.open(engine);
        await sink.addBatch(await makeBatch(engine, 1, rowsOf(1)));
        await sink.addBatch(await makeBatch(engine, 2, `${rowsOf(2)} WHERE false`));
        expect(readdirSync(sink.path).sort()).toEqual(['_manifest', 'part-0000000001.parquet']);
        expect(JSON.parse(readFileSync(sink.manifestPath(2), 'utf8'))).toMatchObject({ batch_id: 2, num_rows: 0, files: [] });
        expect(await readTable(engine, sink.glob)).toEqual(rows12.slice(0, 2));
      }),
    ));

  it('a crash between COPY and rename leaves a staging file no reader sees; the replay writes the right output', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const path = join(dir, 'errors');
        const first = new ParquetSink('errors', path);
        await first.open(engine);
        await first.addBatch(await makeBatch(engine, 1, rowsOf(1)));

        // Batch 2 was interrupted after COPY wrote its staged file (here a torn one: half the bytes), before the rename.
        const whole = join(dir, 'whole.parquet');
        await engine.run(`COPY (${rowsOf(2)}) TO '${whole}' (FORMAT PARQUET)`);
        const bytes = readFileSync(whole);
        writeFileSync(join(first.stagingDir, first.dataFileName(2)), bytes.subarray(0, bytes.length >> 1));

        expect(await readTable(engine, first.glob)).toEqual(rows12.slice(0, 2));
        expect(await readTable(engine, join(path, '**', '*.parquet'))).toEqual(rows12.slice(0, 2));
        expect(existsSync(first.manifestPath(2))).toBe(false);

        // Restart: a new sink on the same directory, then the driver replays batch 2.
        const second = new ParquetSink('errors', path);
        await second.open(engine);
        expect(readdirSync(second.stagingDir)).toEqual([]);
        await second.addBatch(await makeBatch(engine, 2, rowsOf(2)));
        expect(await readTable(engine, second.glob)).toEqual(rows12);
        expect(existsSync(second.manifestPath(2))).toBe(true);
      }),
    ));

  it('a failed attempt in this process leaves a staged file that the retry replaces (addBatch and addQuery)', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = new ParquetSink('errors', join(dir, 'errors'));
        await sink.open(engine);
        await sink.addQuery({ batchId: 1, batchTime: Date.UTC(2025, 0, 1), engine, query: rowsOf(1), fsync: false });
        for (const [batchId, write] of [
          [2, () => makeBatch(engine, 2, rowsOf(2)).then((b) => sink.addBatch({ ...b, fsync: false }))],
          [3, () => sink.addQuery({ batchId: 3, batchTime: Date.UTC(2025, 0, 1), engine, query: rowsOf(3), fsync: false })],
        ] as const) {
          // the manifest directory is a file for a moment: COPY succeeds, publishing fails, the staged file stays
          rmSync(sink.manifestDir, { recursive: true });
          writeFileSync(sink.manifestDir, 'not a directory');
          await expect(write()).rejects.toThrow(/writing batch/);
          const staged = join(sink.stagingDir, sink.dataFileName(batchId));
          expect(existsSync(staged)).toBe(true);
          writeFileSync(staged, 'torn bytes of the failed attempt');
          rmSync(sink.manifestDir);
          mkdirSync(sink.manifestDir);
          await write();
          expect(readdirSync(sink.stagingDir)).toEqual([]);
        }
        expect(await readTable(engine, sink.glob)).toEqual([...rows12, [5, 'row-5'], [6, 'row-6']]);
      }),
    ));

  it('never shows a reader a partial batch while batches are written', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = new ParquetSink('errors', join(dir, 'errors'));
        await sink.open(engine);
        mkdirSync(sink.path, { recursive: true });
        for (let id = 1; id <= 5; id++) {
          await sink.addBatch(await makeBatch(engine, id, `SELECT range AS id, 'x' AS name FROM range(${id * 1000})`));
          // Every file is whole and every batch's file has exactly its rows.
          const counts = await engine.all(
            `SELECT filename, count(*)::INTEGER AS n FROM read_parquet('${sink.glob}', filename = true) GROUP BY ALL ORDER BY ALL`,
          );
          expect(counts.map((r) => r['n'])).toEqual(Array.from({ length: id }, (_, i) => (i + 1) * 1000));
        }
      }),
    ));
});
