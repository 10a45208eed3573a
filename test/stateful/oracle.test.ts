/**
 * Oracle tests (docs/architecture.md#streaming-sql-semantics): each query runs over the same events fed in many small batches, out of order and with
 * late rows, then drained; the union of its outputs must equal the same logic run once by DuckDB over all on-time
 * input. The oracle queries are written independently (time_bucket, generate_series, plain joins), not with our TVFs.
 */
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { oracle, simulateWatermark, splitLate } from '../support/oracle.js';
import { AddData, Assert, CheckAnswer, Drain, RunBatch, StartStream, canonical, testStream, type Action } from '../support/stream-test.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const DELAY = 4000;
const COLUMNS = `{ts: 'TIMESTAMP', usr: 'VARCHAR', url: 'VARCHAR', price: 'INTEGER'}`;
type Ev = { ts: string; usr: string; url: string; price: number };

function events(seed: number, n: number, perBatch: number): Ev[][] {
  const rand = prng(seed);
  const out: Ev[][] = [];
  let clock = T0;
  for (let b = 0; b * perBatch < n; b++) {
    const batch: Ev[] = [];
    for (let i = 0; i < perBatch && b * perBatch + i < n; i++) {
      clock += Math.floor(rand() * 900);
      const late = rand() < 0.08 ? 15_000 : 0; // now and then an event far behind
      const jitter = Math.floor(rand() * 3000);
      batch.push({
        ts: new Date(clock - jitter - late).toISOString(),
        usr: `u${Math.floor(rand() * 4)}`,
        url: `/p${Math.floor(rand() * 3)}`,
        price: 1 + Math.floor(rand() * 100),
      });
    }
    out.push(batch);
  }
  return out;
}

const SOURCE = (name: string) =>
  `CREATE SOURCE ${name} WITH (connector = 'log', path = '\${dir}/logs/${name}', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR, url VARCHAR, price INTEGER', event_time = 'ts', watermark = '${DELAY / 1000} seconds');`;

/** Feed batches (each to a partition in turn) with one driver batch per input batch, then drain. */
function feed(source: string, batches: Ev[][]): Action[] {
  return batches.flatMap((b, i) => [AddData(source, i % 2, ...b), RunBatch(b.length)]);
}

async function check(query: string, sinkOptions: string, expectedSql: string, batches: Ev[][]): Promise<void> {
  const { onTime, late } = splitLate(batches, DELAY, (i) => String(i % 2));
  expect(late.length).toBeGreaterThan(0);
  const expected = await oracle(expectedSql, { ev: { columns: COLUMNS, rows: onTime } });
  expect(expected.length).toBeGreaterThan(0);
  const ctx = await testStream(
    { logs: { ev: 2 }, sql: `${SOURCE('ev')} CREATE SINK out WITH (connector = 'parquet', path = '\${dir}/out/out'${sinkOptions}) AS ${query};` },
    StartStream(),
    ...feed('ev', batches),
    Drain,
    CheckAnswer('out', expected),
  );
  expect(ctx.progress.reduce((a, p) => a + p.numRowsDroppedByWatermark, 0)).toBe(late.length);
}

const bucket = (size: string) => `time_bucket(INTERVAL '${size}', ts)`;

describe('oracle: windowed aggregations (append)', () => {
  const batches = events(1, 300, 12);

  it('TUMBLE count/sum/avg/min/max/count distinct per key', async () => {
    await check(
      `SELECT window_start, window_end, usr, count(*) AS n, sum(price) AS s, round(avg(price), 6) AS a, min(price) AS lo, max(price) AS hi, count(DISTINCT url) AS urls FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start, window_end, usr`,
      '',
      `SELECT ${bucket('10 seconds')} AS window_start, ${bucket('10 seconds')} + INTERVAL '10 seconds' AS window_end, usr, count(*) AS n, sum(price) AS s, round(avg(price), 6) AS a, min(price) AS lo, max(price) AS hi, count(DISTINCT url) AS urls FROM ev GROUP BY ALL`,
      batches,
    );
  });

  it('HOP count per url (slide 5 s, size 15 s)', async () => {
    await check(
      `SELECT window_start, window_end, url, count(*) AS n, arg_max(usr, price) AS top_user FROM HOP(ev, ts, INTERVAL '5 seconds', INTERVAL '15 seconds') GROUP BY window_start, window_end, url`,
      '',
      `SELECT ws AS window_start, ws + INTERVAL '15 seconds' AS window_end, url, count(*) AS n, arg_max(usr, price) AS top_user
       FROM ev, generate_series(${bucket('5 seconds')} - INTERVAL '10 seconds', ${bucket('5 seconds')}, INTERVAL '5 seconds') AS g(ws) GROUP BY ALL`,
      batches,
    );
  });

  it('SESSION per user (gap 3 s)', async () => {
    await check(
      `SELECT usr, window_start, window_end, count(*) AS n, sum(price) AS s FROM SESSION(ev, ts, INTERVAL '3 seconds', usr) GROUP BY usr, window_start, window_end`,
      '',
      `WITH marked AS (SELECT *, CASE WHEN ts <= lag(ts) OVER (PARTITION BY usr ORDER BY ts) + INTERVAL '3 seconds' THEN 0 ELSE 1 END AS starts FROM ev),
            numbered AS (SELECT *, sum(starts) OVER (PARTITION BY usr ORDER BY ts ROWS UNBOUNDED PRECEDING) AS session FROM marked)
       SELECT usr, min(ts) AS window_start, max(ts) + INTERVAL '3 seconds' AS window_end, count(*) AS n, sum(price) AS s FROM numbered GROUP BY usr, session`,
      batches,
    );
  });

  it('top-2 prices per tumbling window', async () => {
    await check(
      `SELECT window_start, usr, price, rn FROM (SELECT *, row_number() OVER (PARTITION BY window_start, window_end ORDER BY price DESC, ts, usr) AS rn FROM TUMBLE(ev, ts, INTERVAL '10 seconds')) WHERE rn <= 2`,
      '',
      `SELECT window_start, usr, price, rn FROM (SELECT *, ${bucket('10 seconds')} AS window_start, row_number() OVER (PARTITION BY ${bucket('10 seconds')} ORDER BY price DESC, ts, usr) AS rn FROM ev) WHERE rn <= 2`,
      batches,
    );
  });

  it('complete mode: the result file always holds the whole result', async () => {
    await check(
      `SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '20 seconds') GROUP BY window_start`,
      `, output_mode = 'complete'`,
      `SELECT ${bucket('20 seconds')} AS window_start, count(*) AS n FROM ev GROUP BY ALL`,
      batches,
    );
  });

  it('DISTINCT over the whole stream appends each new value once', async () => {
    await check(`SELECT DISTINCT usr, url FROM ev`, '', `SELECT DISTINCT usr, url FROM ev`, batches);
  });
});

describe('oracle: update mode', () => {
  const batches = events(2, 200, 10);
  const { onTime } = splitLate(batches, DELAY, (i) => String(i % 2));

  it('running totals per user upserted into a DuckDB table equal the batch query; each batch emits only changed rows', async () => {
    const expected = await oracle(`SELECT usr, count(*) AS n, sum(price) AS s FROM ev GROUP BY usr`, { ev: { columns: COLUMNS, rows: onTime } });
    const ctx = await testStream(
      {
        logs: { ev: 2 },
        sql: `${SOURCE('ev')} CREATE SINK totals WITH (connector = 'duckdb', path = '\${dir}/out/t.duckdb', table = 'totals', output_mode = 'update') AS SELECT usr, count(*) AS n, sum(price) AS s FROM ev GROUP BY usr;`,
      },
      StartStream(),
      ...feed('ev', batches),
      Assert('stop to read the table', async (c) => {
        await c.driver?.close();
        c.driver = undefined;
        const e = await Engine.open();
        try {
          await e.run(`ATTACH ${literal(`${c.dir}/out/t.duckdb`)} AS t (READ_ONLY)`);
          expect(canonical(await e.allJson('SELECT usr, n, s FROM t.totals'))).toEqual(canonical(expected));
        } finally {
          e.close();
        }
      }),
    );
    // Update mode: a batch emits only the users it touched (at most 4), never the whole table.
    expect(ctx.progress.every((p) => (p.sinks[0]?.numOutputRows ?? 0) <= 4)).toBe(true);
  });

  it('windowed counts in update mode: the last version of each window equals the batch query', async () => {
    const expected = await oracle(`SELECT ${bucket('10 seconds')} AS window_start, url, count(*) AS n FROM ev GROUP BY ALL`, {
      ev: { columns: COLUMNS, rows: onTime },
    });
    const ctx = await testStream(
      {
        logs: { ev: 2 },
        sql: `${SOURCE('ev')} CREATE SINK w WITH (connector = 'jsonl', path = '\${dir}/out/w', output_mode = 'update') AS SELECT window_start, url, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start, url;`,
      },
      StartStream(),
      ...feed('ev', batches),
      Drain,
      Assert('latest version per key', async (c) => {
        const e = await Engine.open();
        try {
          const latest = await e.allJson(
            `SELECT window_start, url, n FROM (SELECT *, row_number() OVER (PARTITION BY window_start, url ORDER BY filename DESC) AS v FROM read_json_auto(${literal(`${c.dir}/out/w/*.jsonl`)}, filename = true)) WHERE v = 1`,
          );
          expect(canonical(latest)).toEqual(canonical(expected));
        } finally {
          e.close();
        }
      }),
    );
    expect(ctx.progress.length).toBe(batches.length + 1);
  });
});

describe('oracle: stream–stream joins', () => {
  const left = events(3, 120, 8);
  const right = events(4, 120, 8).map((b) => b.map((e) => ({ ...e, price: e.price * 10 })));
  const two = `${SOURCE('ev')} ${SOURCE('other')}`;
  const feedBoth = (): Action[] =>
    left.flatMap((b, i) => [AddData('ev', i % 2, ...b), AddData('other', i % 2, ...right[i]!), RunBatch(b.length + right[i]!.length)]);
  const lateness = () => {
    const sim = simulateWatermark(
      left.map((b, i) => [
        { source: 'ev', partition: String(i % 2), rows: b },
        { source: 'other', partition: String(i % 2), rows: right[i]! },
      ]),
      DELAY,
    );
    return { onL: sim.get('ev')!.onTime, onR: sim.get('other')!.onTime };
  };

  it('window join: both sides tumbled, joined on window and user', async () => {
    const { onL, onR } = lateness();
    const expected = await oracle(
      `SELECT ${bucket('10 seconds').replace('ts', 'a.ts')} AS window_start, a.usr, a.price AS pa, b.price AS pb FROM ev a JOIN other b ON a.usr = b.usr AND ${bucket('10 seconds').replace('ts', 'a.ts')} = ${bucket('10 seconds').replace('ts', 'b.ts')}`,
      { ev: { columns: COLUMNS, rows: onL }, other: { columns: COLUMNS, rows: onR } },
    );
    await testStream(
      {
        logs: { ev: 2, other: 2 },
        sql: `${two} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS SELECT a.window_start, a.usr, a.price AS pa, b.price AS pb FROM TUMBLE(ev, ts, INTERVAL '10 seconds') a JOIN TUMBLE(other, ts, INTERVAL '10 seconds') b ON a.usr = b.usr AND a.window_start = b.window_start AND a.window_end = b.window_end;`,
      },
      StartStream(),
      ...feedBoth(),
      Drain,
      CheckAnswer('j', expected),
    );
  });

  for (const kind of ['JOIN', 'LEFT JOIN'] as const) {
    it(`interval ${kind}: b.ts within [a.ts - 2 s, a.ts + 1 s], same user${kind === 'LEFT JOIN' ? ', unmatched rows once the watermark passes' : ''}`, async () => {
      const { onL, onR } = lateness();
      const query = `SELECT a.ts AS ats, a.usr, a.price AS pa, b.price AS pb FROM ev a ${kind} other b ON a.usr = b.usr AND b.ts BETWEEN a.ts - INTERVAL '2 seconds' AND a.ts + INTERVAL '1 second'`;
      const expected = await oracle(query, { ev: { columns: COLUMNS, rows: onL }, other: { columns: COLUMNS, rows: onR } });
      const ctx = await testStream(
        { logs: { ev: 2, other: 2 }, sql: `${two} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS ${query};` },
        StartStream(),
        ...feedBoth(),
        Drain,
        CheckAnswer('j', expected),
      );
      // State is cleaned by the watermark: it never holds more than a few seconds of rows.
      expect(Math.max(...ctx.progress.map((p) => p.stateRows))).toBeLessThan(60);
    });
  }
});
