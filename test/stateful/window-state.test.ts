/**
 * What windowed queries keep in state: only the source columns the query reads (plus what eviction needs), and
 * every column when the query can see columns it does not name. Results must equal the batch query either way.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { parseSelect } from '../../src/sql/parse-tree.js';
import { findWindowTvfs } from '../../src/stateful/window-tvf.js';
import { oracle, splitLate } from '../support/oracle.js';
import { AddData, Assert, CheckAnswer, Drain, RunBatch, StartStream, testStream, type StreamTestContext } from '../support/stream-test.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const DELAY = 4000;
const COLUMNS = `{ts: 'TIMESTAMP', usr: 'VARCHAR', url: 'VARCHAR', price: 'INTEGER', note: 'VARCHAR'}`;
type Ev = { ts: string; usr: string; url: string; price: number; note: string };
const METADATA = ['_key', '_offset', '_partition', '_timestamp', '_topic'];

function events(seed: number, n: number, perBatch: number): Ev[][] {
  const rand = prng(seed);
  const out: Ev[][] = [];
  let clock = T0;
  for (let b = 0; b * perBatch < n; b++) {
    const batch: Ev[] = [];
    for (let i = 0; i < perBatch && b * perBatch + i < n; i++) {
      clock += Math.floor(rand() * 900);
      const late = rand() < 0.08 ? 15_000 : 0;
      const ts = new Date(clock - Math.floor(rand() * 3000) - late).toISOString();
      batch.push({
        ts,
        usr: `u${Math.floor(rand() * 4)}`,
        url: `/p${Math.floor(rand() * 3)}`,
        price: 1 + Math.floor(rand() * 100),
        note: `note-${i}-`.repeat(5),
      });
    }
    out.push(batch);
  }
  return out;
}

const batches = events(7, 240, 12);
const bucket = (size: string) => `time_bucket(INTERVAL '${size}', ts)`;

/** The columns of a state table of the sink (default: its raw-row buffer) in the state snapshot (published after every batch in tests). */
async function stateColumns(ctx: StreamTestContext, table = 'buf__out__ev'): Promise<string[]> {
  const e = await Engine.open();
  try {
    await e.run(`ATTACH ${literal(join(ctx.dir, 'checkpoint', 'state-snapshot.duckdb'))} AS snap (READ_ONLY)`);
    const rows = await e.all(`SELECT column_name FROM duckdb_columns() WHERE database_name = 'snap' AND table_name = ${literal(table)} ORDER BY column_index`);
    return rows.map((r) => String(r['column_name'])).sort();
  } finally {
    e.close();
  }
}

async function check(query: string, expectedSql: string, keeps: string[], table?: string): Promise<void> {
  const { onTime, late } = splitLate(batches, DELAY, (i) => String(i % 2));
  expect(late.length).toBeGreaterThan(0);
  const expected = await oracle(expectedSql, { ev: { columns: COLUMNS, rows: onTime } });
  expect(expected.length).toBeGreaterThan(0);
  const half = batches.length >> 1;
  await testStream(
    {
      logs: { ev: 2 },
      sql: `CREATE SOURCE ev WITH (connector = 'log', path = '\${dir}/logs/ev', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR, url VARCHAR, price INTEGER, note VARCHAR', event_time = 'ts', watermark = '4 seconds');
            CREATE SINK out WITH (connector = 'parquet', path = '\${dir}/out/out') AS ${query};`,
    },
    StartStream(),
    ...batches.slice(0, half).flatMap((b, i) => [AddData('ev', i % 2, ...b), RunBatch(b.length)]),
    Assert(`state keeps ${keeps.join(', ')}`, async (ctx) => expect(await stateColumns(ctx, table)).toEqual([...keeps].sort())),
    ...batches.slice(half).flatMap((b, i) => [AddData('ev', (half + i) % 2, ...b), RunBatch(b.length)]),
    Drain,
    CheckAnswer('out', expected),
  );
}

describe('window state keeps only the columns the query reads', () => {
  it('a column used only in WHERE is kept; unreferenced columns (note, metadata) are not', async () => {
    // count(DISTINCT …) does not fold into pane partials: the rows are kept.
    await check(
      `SELECT window_start, usr, count(DISTINCT usr) AS n FROM TUMBLE(ev, ts, INTERVAL '10 seconds') WHERE price > 30 GROUP BY window_start, window_end, usr`,
      `SELECT ${bucket('10 seconds')} AS window_start, usr, count(DISTINCT usr) AS n FROM ev WHERE price > 30 GROUP BY ALL`,
      ['ts', 'usr', 'price'],
    );
  });

  it('a count per key and window keeps a partial count per key and pane, no rows', async () => {
    await check(
      `SELECT window_start, usr, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10 seconds') WHERE price > 30 GROUP BY window_start, window_end, usr`,
      `SELECT ${bucket('10 seconds')} AS window_start, usr, count(*) AS n FROM ev WHERE price > 30 GROUP BY ALL`,
      ['__k0', '__ds_pane', '__p0'],
      'pane0__out__ev',
    );
  });

  it('SELECT * keeps every column (and the output has them all)', async () => {
    await check(
      `SELECT * EXCLUDE (_topic, _partition, _offset, _timestamp, _key) FROM TUMBLE(ev, ts, INTERVAL '10 seconds') WHERE price > 90`,
      `SELECT *, ${bucket('10 seconds')} AS window_start, ${bucket('10 seconds')} + INTERVAL '10 seconds' AS window_end FROM ev WHERE price > 90`,
      ['ts', 'usr', 'url', 'price', 'note', ...METADATA],
    );
  });

  it('a HOP self-join (q5 shape, both sides from one pane state) keeps a count per user and pane', async () => {
    const hop = `HOP(ev, ts, INTERVAL '2 seconds', INTERVAL '10 seconds')`;
    await check(
      `SELECT a.usr, a.n, a.window_start FROM (SELECT usr, count(*) AS n, window_start, window_end FROM ${hop} GROUP BY usr, window_start, window_end) a
       JOIN (SELECT max(n) AS maxn, window_start, window_end FROM (SELECT count(*) AS n, window_start, window_end FROM ${hop} GROUP BY usr, window_start, window_end) GROUP BY window_start, window_end) m
       ON a.window_start = m.window_start AND a.window_end = m.window_end AND a.n >= m.maxn`,
      `WITH c AS (SELECT ws, usr, count(*) AS n FROM ev, generate_series(${bucket('2 seconds')} - INTERVAL '8 seconds', ${bucket('2 seconds')}, INTERVAL '2 seconds') AS g(ws) GROUP BY ALL)
       SELECT usr, n, ws AS window_start FROM c JOIN (SELECT ws, max(n) AS maxn FROM c GROUP BY ws) m USING (ws) WHERE n >= maxn`,
      ['__k0', '__ds_pane', '__p0'],
      'pane0__out__ev',
    );
  });

  it('session windows also keep the log position (_topic, _partition, _offset) that eviction uses', async () => {
    await check(
      `SELECT usr, window_start, window_end, count(*) AS n, sum(price) AS s FROM SESSION(ev, ts, INTERVAL '3 seconds', usr) GROUP BY usr, window_start, window_end`,
      `WITH marked AS (SELECT *, CASE WHEN ts <= lag(ts) OVER (PARTITION BY usr ORDER BY ts) + INTERVAL '3 seconds' THEN 0 ELSE 1 END AS starts FROM ev),
            numbered AS (SELECT *, sum(starts) OVER (PARTITION BY usr ORDER BY ts ROWS UNBOUNDED PRECEDING) AS session FROM marked)
       SELECT usr, min(ts) AS window_start, max(ts) + INTERVAL '3 seconds' AS window_end, count(*) AS n, sum(price) AS s FROM numbered GROUP BY usr, session`,
      ['ts', 'usr', 'price', '_topic', '_partition', '_offset'],
    );
  });
});

describe('referenced columns, from the parse tree', () => {
  const streams = new Set(['ev', 'other']);
  const columnsOf = async (sql: string): Promise<string[] | undefined> => {
    const e = await Engine.open();
    try {
      const tvfs = await findWindowTvfs(e, await parseSelect(e, sql), streams, 'out');
      const set = tvfs[0]!.columns;
      return set && [...set].sort();
    } finally {
      e.close();
    }
  };
  const tumble = `TUMBLE(ev, ts, INTERVAL '10 seconds')`;

  it('collects every part of every column reference, and USING columns; not the TVF source argument', async () => {
    expect(await columnsOf(`SELECT B.usr, max(price) FROM ${tumble} B WHERE url LIKE '/a%' GROUP BY B.usr, window_start`)).toEqual([
      'b',
      'price',
      'ts',
      'url',
      'usr',
      'window_start',
    ]);
    expect(await columnsOf(`SELECT a.usr FROM ${tumble} a JOIN TUMBLE(other, ts, INTERVAL '10 seconds') b USING (window_start, k)`)).toEqual([
      'a',
      'k',
      'ts',
      'usr',
      'window_start',
    ]);
    expect(await columnsOf(`SELECT payload.x.y, count(*) FROM ${tumble} GROUP BY ALL`)).toEqual(['payload', 'ts', 'x', 'y']);
    // A column named like another source of the job is just a column: only windowed relations are whole rows.
    expect(await columnsOf(`SELECT other, count(*) FROM ${tumble} GROUP BY ALL`)).toEqual(['other', 'ts']);
  });

  it.each([
    ['*', `SELECT * FROM ${tumble}`],
    ['t.*', `SELECT t.* FROM ${tumble} t`],
    ['* in a subquery', `SELECT usr FROM (SELECT * FROM ${tumble})`],
    ['COLUMNS', `SELECT max(COLUMNS('p.*')) FROM ${tumble} GROUP BY window_start`],
    ['a positional reference', `SELECT #1 FROM ${tumble}`],
    ['a NATURAL join', `SELECT usr FROM ${tumble} NATURAL JOIN TUMBLE(other, ts, INTERVAL '10 seconds')`],
    ['a whole-row reference', `SELECT w FROM ${tumble} w`],
    ['a whole-row reference by source name', `SELECT to_json(ev) FROM ${tumble}`],
    ['columns renamed by position', `SELECT a FROM ${tumble} AS t(a, b)`],
    ['an event time naming no column', `SELECT count(*) FROM TUMBLE(ev, TIMESTAMP '2026-01-01', INTERVAL '10 seconds') GROUP BY window_start`],
  ])('keeps every column for %s', async (_what, sql) => {
    expect(await columnsOf(sql)).toBeUndefined();
  });
});
