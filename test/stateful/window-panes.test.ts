/**
 * Windowed aggregates from pane partials (window-panes.ts, pane-state.ts) and rows pruned below a window's running
 * max (window-prune.ts): the outputs must equal the batch query over all on-time input (written independently with
 * time_bucket / generate_series) for any batch split, with late rows, NULLs, restarts and crashes; the state must
 * hold exactly the partials (rows) that definition gives.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { Engine, literal, type Row } from '../../src/sql/engine.js';
import { oracle, simulateWatermark, splitLate } from '../support/oracle.js';
import {
  AddData,
  Assert,
  CheckAnswer,
  CrashAt,
  Drain,
  RunBatch,
  StartStream,
  StopStream,
  canonical,
  testStream,
  type Action,
  type StreamTestContext,
} from '../support/stream-test.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const DELAY = 4000;
const COLUMNS = `{ts: 'TIMESTAMP', usr: 'VARCHAR', url: 'VARCHAR', price: 'INTEGER'}`;
type Ev = { ts: string; usr: string | null; url: string; price: number | null };
const SOURCE = `CREATE SOURCE ev WITH (connector = 'log', path = '\${dir}/logs/ev', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR, url VARCHAR, price INTEGER', event_time = 'ts', watermark = '4 seconds');`;

/** n events, out of order, 8% far behind (late), some NULL users and prices, cut into batches of `perBatch`. */
function events(seed: number, n: number, perBatch: number): Ev[][] {
  const rand = prng(seed);
  const all: Ev[] = [];
  let clock = T0;
  for (let i = 0; i < n; i++) {
    clock += Math.floor(rand() * 700);
    const late = rand() < 0.08 ? 15_000 : 0;
    const usr = rand() < 0.05 ? null : `u${Math.floor(rand() * 4)}`;
    const price = rand() < 0.05 ? null : 1 + Math.floor(rand() * 30);
    all.push({ ts: new Date(clock - Math.floor(rand() * 3000) - late).toISOString(), usr, url: `/p${Math.floor(rand() * 3)}`, price });
  }
  const out: Ev[][] = [];
  for (let i = 0; i < n; i += perBatch) out.push(all.slice(i, i + perBatch));
  return out;
}

const bucket = (size: string, col = 'ts') => `time_bucket(INTERVAL '${size}', ${col})`;
/** HOP(slide 2 s, size 6 s) as the oracle writes it: each row in the 3 windows starting at its 2 s bucket and the 2 before. */
const hopped = `(SELECT *, ws AS window_start, ws + INTERVAL '6 seconds' AS window_end FROM ev, generate_series(${bucket('2 seconds')} - INTERVAL '4 seconds', ${bucket('2 seconds')}, INTERVAL '2 seconds') AS g(ws))`;
const HOP = `HOP(ev, ts, INTERVAL '2 seconds', INTERVAL '6 seconds')`;
const TUMBLE = `TUMBLE(ev, ts, INTERVAL '10 seconds')`;

function feed(batches: readonly Ev[][], from = 0): Action[] {
  return batches.flatMap((b, i) => [AddData('ev', (from + i) % 2, ...b), RunBatch(b.length)]);
}

async function expectedOf(sql: string, batches: readonly Ev[][]): Promise<Row[]> {
  const { onTime, late } = splitLate(batches, DELAY, (i) => String(i % 2));
  expect(late.length).toBeGreaterThan(0);
  const rows = await oracle(sql, { ev: { columns: COLUMNS, rows: onTime } });
  expect(rows.length).toBeGreaterThan(0);
  return rows;
}

async function run(query: string, sinkOptions: string, expectedSql: string, batches: readonly Ev[][], middle: Action[] = []): Promise<StreamTestContext> {
  const expected = await expectedOf(expectedSql, batches);
  const half = batches.length >> 1;
  return testStream(
    { logs: { ev: 2 }, sql: `${SOURCE} CREATE SINK out WITH (connector = 'parquet', path = '\${dir}/out/out'${sinkOptions}) AS ${query};` },
    StartStream(),
    ...feed(batches.slice(0, half)),
    ...middle,
    ...feed(batches.slice(half), half),
    Drain,
    CheckAnswer('out', expected),
  );
}

/** The watermark after the last batch, as a timestamp literal's text. */
function watermarkOf(ctx: StreamTestContext): string {
  return ctx.progress.at(-1)!.watermark!.replace('T', ' ').replace('Z', '');
}

/** Rows of a state table in the snapshot published after the last batch. */
async function stateRows(ctx: StreamTestContext, sql: (table: string) => string, table: string): Promise<Row[]> {
  const e = await Engine.open();
  try {
    await e.run(`SET TimeZone = 'UTC'`);
    await e.run(`ATTACH ${literal(join(ctx.dir, 'checkpoint', 'state-snapshot.duckdb'))} AS snap (READ_ONLY)`);
    return await e.allJson(sql(`snap.${table}`));
  } finally {
    e.close();
  }
}

const hopQuery = `SELECT window_start, window_end, usr, url, coalesce(usr, '-') AS who, count(*) AS n, count(price) AS priced, min(price) AS lo, max(price) AS hi, max(price) - min(price) AS spread
  FROM ${HOP} WHERE url <> '/p2' GROUP BY usr, url, window_start, window_end`;
const hopExpected = `SELECT window_start, window_end, usr, url, coalesce(usr, '-') AS who, count(*) AS n, count(price) AS priced, min(price) AS lo, max(price) AS hi, max(price) - min(price) AS spread
  FROM ${hopped} WHERE url <> '/p2' GROUP BY ALL`;

describe('pane partials: count/min/max per key and window', () => {
  for (const perBatch of [3, 11, 40]) {
    it(`HOP, two keys, WHERE, NULL keys and values, batches of ${perBatch}: equal to the batch query`, async () => {
      await run(hopQuery, '', hopExpected, events(1, 240, perBatch));
    });
  }

  it('HOP sums of an INTEGER column (exact: HUGEINT partials), per key', async () => {
    const ctx = await run(
      `SELECT window_start, usr, sum(price) AS total, sum(price * 3) - count(price) AS odd, count(*) AS n FROM ${HOP} GROUP BY window_start, window_end, usr`,
      '',
      `SELECT window_start, usr, sum(price) AS total, sum(price * 3) - count(price) AS odd, count(*) AS n FROM ${hopped} GROUP BY ALL`,
      events(12, 200, 7),
    );
    expect(ctx.progress.at(-1)!.stateOperators.map((o) => o.operator)).toEqual(['HOP window append, partials per pane']);
  });

  it('TUMBLE grouped by an expression over the row, selected through a function of it', async () => {
    await run(
      `SELECT window_start, price % 3 AS m, (price % 3) * 10 AS m10, count(*) AS n, max(url) AS top FROM ${TUMBLE} GROUP BY window_start, price % 3`,
      '',
      `SELECT ${bucket('10 seconds')} AS window_start, price % 3 AS m, (price % 3) * 10 AS m10, count(*) AS n, max(url) AS top FROM ev GROUP BY ALL`,
      events(2, 200, 9),
    );
  });

  it('a stop and restart and two crashes (before and after the state commit) change nothing', async () => {
    const batches = events(3, 240, 10);
    const expected = await expectedOf(hopExpected, batches);
    const [a, b, c, d] = [batches.slice(0, 6), batches.slice(6, 12), batches.slice(12, 18), batches.slice(18)];
    await testStream(
      { logs: { ev: 2 }, sql: `${SOURCE} CREATE SINK out WITH (connector = 'parquet', path = '\${dir}/out/out') AS ${hopQuery};` },
      StartStream(),
      ...feed(a),
      StopStream,
      StartStream(),
      ...feed(b, 6),
      AddData('ev', 0, ...c[0]!),
      CrashAt('read'),
      RunBatch(),
      StartStream(),
      RunBatch(c[0]!.length),
      ...feed(c.slice(1), 13),
      AddData('ev', 0, ...d[0]!),
      CrashAt('stateCommitted'),
      RunBatch(),
      StartStream(),
      RunBatch(d[0]!.length),
      ...feed(d.slice(1), 19),
      Drain,
      CheckAnswer('out', expected),
    );
  });

  it('state is one partial per (key, pane) of the panes still open, merged across batches', async () => {
    const batches = events(4, 200, 8);
    const { onTime } = splitLate(batches, DELAY, (i) => String(i % 2));
    await testStream(
      { logs: { ev: 2 }, sql: `${SOURCE} CREATE SINK out WITH (connector = 'parquet', path = '\${dir}/out/out') AS ${hopQuery};` },
      StartStream(),
      ...feed(batches),
      Assert('pane state', async (ctx) => {
        // A pane (2 s) is open while its last window (starting at the pane) has not closed: pane + 6 s > watermark.
        const expected = await oracle(
          `SELECT usr AS __k0, url AS __k1, epoch_us(${bucket('2 seconds')}) AS __ds_pane, count(*) AS __p0, count(price) AS __p1, min(price) AS __p2, max(price) AS __p3, max(price) AS __p4, min(price) AS __p5
           FROM ev WHERE url <> '/p2' AND ${bucket('2 seconds')} + INTERVAL '6 seconds' > TIMESTAMP '${watermarkOf(ctx)}' GROUP BY ALL`,
          { ev: { columns: COLUMNS, rows: onTime } },
        );
        expect(expected.length).toBeGreaterThan(10);
        expect(canonical(await stateRows(ctx, (t) => `SELECT * FROM ${t}`, 'pane0__out__ev'))).toEqual(canonical(expected));
      }),
    );
  });

  it('update mode: the last version of each window equals the batch query', async () => {
    const batches = events(5, 200, 10);
    const expected = await expectedOf(`SELECT window_start, url, count(*) AS n, max(price) AS hi FROM ${hopped} GROUP BY ALL`, batches);
    await testStream(
      {
        logs: { ev: 2 },
        sql: `${SOURCE} CREATE SINK w WITH (connector = 'jsonl', path = '\${dir}/out/w', output_mode = 'update') AS SELECT window_start, url, count(*) AS n, max(price) AS hi FROM ${HOP} GROUP BY window_start, url;`,
      },
      StartStream(),
      ...feed(batches),
      Drain,
      Assert('latest version per key', async (c) => {
        const e = await Engine.open();
        try {
          const latest = await e.allJson(
            `SELECT window_start, url, n, hi FROM (SELECT *, row_number() OVER (PARTITION BY window_start, url ORDER BY filename DESC) AS v FROM read_json_auto(${literal(`${c.dir}/out/w/*.jsonl`)}, filename = true)) WHERE v = 1`,
          );
          expect(canonical(latest)).toEqual(canonical(expected));
        } finally {
          e.close();
        }
      }),
    );
  });

  it('complete mode: every window, every batch', async () => {
    await run(
      `SELECT window_start, usr, count(*) AS n, min(price) AS lo FROM ${HOP} GROUP BY window_start, usr`,
      `, output_mode = 'complete'`,
      `SELECT window_start, usr, count(*) AS n, min(price) AS lo FROM ${hopped} GROUP BY ALL`,
      events(6, 200, 10),
    );
  });
});

describe("rows below their window's running max are not kept", () => {
  const top = `SELECT B.usr, B.price, B.ts, B.url FROM ${TUMBLE} B
    JOIN (SELECT usr, max(price) AS top, window_start FROM ${TUMBLE} WHERE url <> '/p1' GROUP BY usr, window_start, window_end) M
    ON B.window_start = M.window_start AND B.usr = M.usr AND B.price >= M.top`;
  const topExpected = `SELECT usr, price, ts, url FROM ev b
    WHERE price >= (SELECT max(price) FROM ev m WHERE m.usr = b.usr AND ${bucket('10 seconds', 'm.ts')} = ${bucket('10 seconds', 'b.ts')} AND m.url <> '/p1')`;

  for (const perBatch of [4, 25]) {
    it(`per user, against a max with its own WHERE, batches of ${perBatch}: equal to the batch query`, async () => {
      await run(top, '', topExpected, events(7, 300, perBatch), [StopStream, StartStream()]);
    });
  }

  it('the lowest price per window (min, =, no key), q7 shape', async () => {
    await run(
      `SELECT B.usr, B.price, B.ts FROM ${TUMBLE} B JOIN (SELECT min(price) AS low, window_start, window_end FROM ${TUMBLE} GROUP BY window_start, window_end) B1
       ON B.window_start = B1.window_start AND B.window_end = B1.window_end AND B.price = B1.low`,
      '',
      `SELECT usr, price, ts FROM ev b WHERE price = (SELECT min(price) FROM ev m WHERE ${bucket('10 seconds', 'm.ts')} = ${bucket('10 seconds', 'b.ts')})`,
      events(8, 300, 12),
    );
  });

  it('kept rows: those of open windows not below the running max of their user and window', async () => {
    const batches = events(9, 200, 9);
    const { onTime } = splitLate(batches, DELAY, (i) => String(i % 2));
    await testStream(
      { logs: { ev: 2 }, sql: `${SOURCE} CREATE SINK out WITH (connector = 'parquet', path = '\${dir}/out/out') AS ${top};` },
      StartStream(),
      ...feed(batches),
      Assert('raw rows kept', async (ctx) => {
        const open = `${bucket('10 seconds', 'b.ts')} + INTERVAL '10 seconds' > TIMESTAMP '${watermarkOf(ctx)}'`;
        const expected = await oracle(
          `SELECT ts, usr, url, price FROM ev b WHERE ${open}
             AND NOT coalesce(price < (SELECT max(price) FROM ev m WHERE m.usr = b.usr AND ${bucket('10 seconds', 'm.ts')} = ${bucket('10 seconds', 'b.ts')} AND m.url <> '/p1'), false)`,
          { ev: { columns: COLUMNS, rows: onTime } },
        );
        const [all] = await oracle(`SELECT count(*) AS n FROM ev b WHERE ${open}`, { ev: { columns: COLUMNS, rows: onTime } });
        expect(expected.length).toBeGreaterThan(0);
        expect(expected.length).toBeLessThan(Number(all!['n']) / 2);
        expect(canonical(await stateRows(ctx, (t) => `SELECT ts, usr, url, price FROM ${t}`, 'buf__out__ev'))).toEqual(canonical(expected));
        expect(ctx.progress.at(-1)!.stateOperators.map((o) => o.operator)).toEqual([
          'TUMBLE ⋈ TUMBLE window append, partials per pane, rows below the window max dropped',
        ]);
      }),
    );
  });
});

describe("a window join of raw rows with another stream's pane aggregate", () => {
  it("each ev row with its user's count in the same window of other: equal to the batch query", async () => {
    const left = events(10, 160, 8);
    const right = events(11, 160, 8);
    const OTHER = SOURCE.replace('SOURCE ev', 'SOURCE other').replace('logs/ev', 'logs/other');
    const sim = simulateWatermark(
      left.map((b, i) => [
        { source: 'ev', partition: String(i % 2), rows: b },
        { source: 'other', partition: String(i % 2), rows: right[i]! },
      ]),
      DELAY,
    );
    const expected = await oracle(
      `SELECT a.usr, a.price, a.ts, b.n FROM ev a JOIN (SELECT usr, ${bucket('10 seconds')} AS ws, count(*) AS n FROM other GROUP BY ALL) b ON a.usr = b.usr AND ${bucket('10 seconds', 'a.ts')} = b.ws`,
      { ev: { columns: COLUMNS, rows: sim.get('ev')!.onTime }, other: { columns: COLUMNS, rows: sim.get('other')!.onTime } },
    );
    expect(expected.length).toBeGreaterThan(0);
    await testStream(
      {
        logs: { ev: 2, other: 2 },
        sql: `${SOURCE} ${OTHER} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS
          SELECT a.usr, a.price, a.ts, b.n FROM ${TUMBLE} a JOIN (SELECT usr, count(*) AS n, window_start FROM TUMBLE(other, ts, INTERVAL '10 seconds') GROUP BY usr, window_start, window_end) b
          ON a.usr = b.usr AND a.window_start = b.window_start;`,
      },
      StartStream(),
      ...left.flatMap((b, i) => [AddData('ev', i % 2, ...b), AddData('other', i % 2, ...right[i]!), RunBatch(b.length + right[i]!.length)]),
      Assert('state: rows of ev, partials of other', async (ctx) => {
        const e = await Engine.open();
        try {
          await e.run(`ATTACH ${literal(join(ctx.dir, 'checkpoint', 'state-snapshot.duckdb'))} AS snap (READ_ONLY)`);
          const tables = await e.all(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'snap' AND table_name <> 'meta' ORDER BY 1`);
          expect(tables.map((t) => t['table_name'])).toEqual(['buf__j__ev', 'pane0__j__other']);
        } finally {
          e.close();
        }
      }),
      Drain,
      CheckAnswer('j', expected),
    );
  });
});
