import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { compileJob } from '../../src/driver/compile-job.js';
import { bindQueries } from '../../src/driver/bind-queries.js';
import type { Driver } from '../../src/driver/driver.js';
import { parseJob } from '../../src/job/parse-job.js';
import { createLog } from '../../src/log/index.js';
import type { Engine } from '../../src/sql/engine.js';
import { AddData, Assert, CheckAnswer, Drain, RunBatch, StartStream, StopStream, testStream, type StreamTestContext } from '../support/stream-test.js';
import { Engine as DuckEngine } from '../../src/sql/engine.js';

/*
 * A job without stateful operators loads into DuckDB only the metadata columns (_topic, _partition, _offset,
 * _timestamp, _key) its queries name: the outputs are the same, and what a query names is there.
 */

const SCHEMA = 'id BIGINT NOT NULL, url VARCHAR, ts TIMESTAMP';
const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}Z`;
const source = (extra = '') => `CREATE SOURCE views WITH (connector = 'log', path = '\${dir}/logs/views', format = 'json', schema = '${SCHEMA}'${extra});`;

/** The columns of the source's DuckDB table, as the last batch loaded it (it is re-created empty with them after each batch). */
async function loadedColumns(c: StreamTestContext): Promise<string[]> {
  // The driver's engine is private: the test reads the table the way any statement of the job would see it.
  const engine = (c.driver as unknown as { engine: Engine }).engine;
  const rows = await engine.allJson('SELECT column_name FROM (DESCRIBE views)');
  return rows.map((r) => String(r['column_name']));
}

const records = [
  [0, { id: 1, url: '/a', ts: at(1) }, { id: 2, url: '/b', ts: at(2) }],
  [1, { id: 3, url: '/c', ts: at(3) }],
] as const;
const addAll = () => records.map(([p, ...rs]) => AddData('views', p, ...rs));

describe('metadata columns loaded into DuckDB', () => {
  it('only those the queries name: none, or _offset and _partition', async () => {
    await testStream(
      {
        logs: { views: 2 },
        sql: `${source()}
          CREATE SINK urls WITH (connector = 'parquet', path = '\${dir}/out/urls') AS SELECT id, url FROM views WHERE id <> 2;
          CREATE SINK positions WITH (connector = 'parquet', path = '\${dir}/out/pos') AS SELECT _partition AS p, _OFFSET AS o, id FROM views;`,
      },
      ...addAll(),
      StartStream(),
      RunBatch(3),
      Assert('the table has _partition and _offset, no other metadata', async (c) => {
        expect([...c.driver!.job.metadataColumns.get('views')!].sort()).toEqual(['_offset', '_partition']);
        expect(await loadedColumns(c)).toEqual(['_partition', '_offset', 'id', 'url']);
      }),
      CheckAnswer('urls', [
        { id: 1, url: '/a' },
        { id: 3, url: '/c' },
      ]),
      CheckAnswer('positions', [
        { p: 0, o: 0, id: 1 },
        { p: 0, o: 1, id: 2 },
        { p: 1, o: 0, id: 3 },
      ]),
    );
  });

  it('a query that names no column keeps _offset only; SELECT * keeps them all', async () => {
    await testStream(
      { logs: { views: 2 }, sql: `${source()}\nCREATE SINK ones WITH (connector = 'parquet', path = '\${dir}/out/ones') AS SELECT 1 AS one FROM views;` },
      ...addAll(),
      StartStream(),
      RunBatch(3),
      Assert('only _offset', async (c) => expect(await loadedColumns(c)).toEqual(['_offset'])),
      CheckAnswer('ones', [{ one: 1 }, { one: 1 }, { one: 1 }]),
    );
    await testStream(
      { logs: { views: 1 }, sql: `${source()}\nCREATE SINK everything WITH (connector = 'parquet', path = '\${dir}/out/all') AS SELECT * FROM views;` },
      AddData('views', 0, { id: 7, url: '/x', ts: at(7) }),
      StartStream(),
      RunBatch(1),
      Assert('every column, in the table and in the output', async (c) => {
        expect(c.driver!.job.metadataColumns.has('views')).toBe(false);
        expect(await loadedColumns(c)).toEqual(['_topic', '_partition', '_offset', '_timestamp', '_key', 'id', 'url', 'ts']);
        const [row] = await c.sinkRows('everything');
        expect(Object.keys(row!)).toEqual(['_topic', '_partition', '_offset', '_timestamp', '_key', 'id', 'url', 'ts']);
        expect([row!['_topic'], row!['_partition'], row!['_offset'], row!['_key'], row!['id']]).toEqual(['views', 0, '0', null, '7']); // BIGINTs come back as text
      }),
    );
  });

  it('an event time the Arrow buffers cannot answer (an expression) keeps _topic and _partition for its query: same watermarks and late counts', async () => {
    const run = async (eventTime: string) => {
      const watermarks: (string | null)[] = [];
      const late: number[] = [];
      let columns: string[] = [];
      const ctx = await testStream(
        {
          logs: { views: 2 },
          sql: `${source(`, event_time = '${eventTime}', watermark = '1 second'`)}\nCREATE SINK ids WITH (connector = 'parquet', path = '\${dir}/out/ids') AS SELECT id FROM views;`,
        },
        AddData('views', 0, { id: 1, url: '/a', ts: at(10) }, { id: 2, url: '/b', ts: at(20) }),
        AddData('views', 1, { id: 3, url: '/c', ts: at(15) }),
        StartStream(),
        RunBatch(3),
        AddData('views', 0, { id: 4, url: '/d', ts: at(5) }, { id: 5, url: '/e', ts: at(30) }),
        AddData('views', 1, { id: 6, url: '/f', ts: at(12) }),
        RunBatch(3),
        Assert('columns', async (c) => {
          columns = await loadedColumns(c);
        }),
      );
      for (const p of ctx.progress) {
        watermarks.push(p.watermark);
        late.push(p.numRowsDroppedByWatermark ?? -1);
      }
      return { watermarks, late, columns };
    };
    const query = await run('CAST(ts AS TIMESTAMP)');
    const arrow = await run('ts');
    expect(query.columns).toEqual(['_topic', '_partition', 'id', 'ts']);
    expect(arrow.columns).toEqual(['id', 'ts']);
    expect(query.watermarks).toEqual(arrow.watermarks);
    expect(query.late).toEqual(arrow.late);
    // by hand: batch 1 sets the watermark to min over partitions of (max − 1 s) = 14 s; batch 2 has 5 s and 12 s behind it
    expect(arrow.watermarks[1]).toBe('2026-01-01T00:00:14.000Z');
    expect(arrow.late).toEqual([0, 2]);
  });

  it('TUMBLE and HOP windows load only the metadata columns named, across a restart; SESSION windows keep them all', async () => {
    const ts = (s: number) => `2026-01-01 00:00:${String(s).padStart(2, '0')}`;
    await testStream(
      {
        logs: { views: 2 },
        sql: `${source(", event_time = 'ts', watermark = '1 second'")}
          CREATE SINK per_window WITH (connector = 'parquet', path = '\${dir}/out/w') AS
            SELECT window_start, count(*) AS n, max(_offset) AS last_offset FROM TUMBLE(views, ts, INTERVAL '10 seconds') GROUP BY window_start, window_end;
          CREATE SINK hops WITH (connector = 'parquet', path = '\${dir}/out/h') AS
            SELECT window_start, count(*) AS n FROM HOP(views, ts, INTERVAL '5 seconds', INTERVAL '10 seconds') GROUP BY window_start, window_end;`,
      },
      AddData('views', 0, { id: 1, url: '/a', ts: at(1) }, { id: 2, url: '/b', ts: at(7) }),
      AddData('views', 1, { id: 3, url: '/c', ts: at(3) }),
      StartStream(),
      RunBatch(3),
      Assert('only _offset of the metadata', async (c) => expect(await loadedColumns(c)).toEqual(['_offset', 'ts'])),
      StopStream,
      AddData('views', 0, { id: 4, url: '/d', ts: at(12) }, { id: 5, url: '/e', ts: at(25) }),
      AddData('views', 1, { id: 6, url: '/f', ts: at(14) }),
      StartStream(),
      RunBatch(3),
      Drain,
      // by hand: [0,10) has ids 1,2 (offsets 0,1 of p0) and 3 (offset 0 of p1); [10,20) ids 4 (p0 offset 2), 6 (p1 offset 1);
      // [20,30) id 5 (p0 offset 3). Hops of 10 s every 5 s: [-5,5) 1,3; [0,10) 1,2,3; [5,15) 2,4,6; [10,20) 4,6; [20,30) and [25,35) 5
      CheckAnswer('per_window', [
        { window_start: ts(0), n: 3, last_offset: 1 },
        { window_start: ts(10), n: 2, last_offset: 2 },
        { window_start: ts(20), n: 1, last_offset: 3 },
      ]),
      CheckAnswer('hops', [
        { window_start: '2025-12-31 23:59:55', n: 2 },
        { window_start: ts(0), n: 3 },
        { window_start: ts(5), n: 3 },
        { window_start: ts(10), n: 2 },
        { window_start: ts(20), n: 1 },
        { window_start: ts(25), n: 1 },
      ]),
    );
    await testStream(
      {
        logs: { views: 1 },
        sql: `${source(", event_time = 'ts', watermark = '1 second'")}
          CREATE SINK sessions WITH (connector = 'parquet', path = '\${dir}/out/s') AS
            SELECT window_start, count(*) AS n FROM SESSION(views, ts, INTERVAL '5 seconds') GROUP BY window_start, window_end;`,
      },
      AddData('views', 0, { id: 1, url: '/a', ts: at(1) }, { id: 2, url: '/b', ts: at(3) }, { id: 3, url: '/c', ts: at(20) }),
      StartStream(),
      RunBatch(3),
      Assert('every metadata column', async (c) => {
        expect(c.driver!.job.metadataColumns.has('views')).toBe(false);
        expect((await loadedColumns(c)).slice(0, 5)).toEqual(['_topic', '_partition', '_offset', '_timestamp', '_key']);
      }),
      Drain,
      CheckAnswer('sessions', [
        { window_start: ts(1), n: 2 },
        { window_start: ts(20), n: 1 },
      ]),
    );
  });

  it('bindQueries widens a source back to every metadata column when its query binds only with them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-meta-'));
    const engine = await DuckEngine.open();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await (await createLog(join(dir, 'logs'), { partitions: 1 })).close();
      const def = parseJob(
        `CREATE SOURCE views WITH (connector = 'log', path = '${join(dir, 'logs')}', format = 'json', schema = '${SCHEMA}');
        CREATE SINK s WITH (connector = 'parquet', path = '${join(dir, 'out')}') AS SELECT _key, id FROM views;`,
        'meta.sql',
      );
      const job = await compileJob(def, engine, { checkpointDir: join(dir, 'ck') });
      expect([...job.metadataColumns.get('views')!]).toEqual(['_key']);
      const missed = { ...job, metadataColumns: new Map([['views', new Set<string>()]]) }; // as if the analysis had missed _key
      const checked = await bindQueries(missed, engine);
      expect(checked.metadataColumns.has('views')).toBe(false);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("sink 's' reads a column the column analysis left out"));
      for (const s of job.sources) await s.close();
    } finally {
      warn.mockRestore();
      engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

export type { Driver };
