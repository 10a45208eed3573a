/**
 * A checkpoint written before pane state existed keeps the raw rows of open windows: the first batch of a version
 * with pane state folds them into pane partials, and the output is that of a run that never changed version.
 * The old version is this one with pane planning switched off (the raw-row operator is unchanged).
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { oracle, splitLate } from '../support/oracle.js';
import {
  AddData,
  Assert,
  CheckAnswer,
  Drain,
  RunBatch,
  StartStream,
  StopStream,
  testStream,
  type Action,
  type StreamTestContext,
} from '../support/stream-test.js';

const flags = vi.hoisted(() => ({ panes: true }));
vi.mock('../../src/stateful/window-panes.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/stateful/window-panes.js')>();
  return {
    ...original,
    planPanes: (...args: Parameters<typeof original.planPanes>) => (flags.panes ? original.planPanes(...args) : Promise.resolve(undefined)),
  };
});

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const COLUMNS = `{ts: 'TIMESTAMP', usr: 'VARCHAR', price: 'INTEGER'}`;
type Ev = { ts: string; usr: string; price: number };
const SOURCE = `CREATE SOURCE ev WITH (connector = 'log', path = '\${dir}/logs/ev', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR, price INTEGER', event_time = 'ts', watermark = '4 seconds');`;

function events(seed: number, batches: number, perBatch: number): Ev[][] {
  const rand = prng(seed);
  let clock = T0;
  return Array.from({ length: batches }, () =>
    Array.from({ length: perBatch }, () => {
      clock += Math.floor(rand() * 600);
      return {
        ts: new Date(clock - Math.floor(rand() * 3000) - (rand() < 0.05 ? 12_000 : 0)).toISOString(),
        usr: `u${Math.floor(rand() * 3)}`,
        price: 1 + Math.floor(rand() * 20),
      };
    }),
  );
}

async function tables(ctx: StreamTestContext): Promise<string[]> {
  const e = await Engine.open();
  try {
    await e.run(`ATTACH ${literal(join(ctx.dir, 'checkpoint', 'state-snapshot.duckdb'))} AS snap (READ_ONLY)`);
    return (await e.all(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'snap' AND table_name <> 'meta' ORDER BY 1`)).map((r) =>
      String(r['table_name']),
    );
  } finally {
    e.close();
  }
}

async function upgrade(query: string, expectedSql: string, before: string[], after: string[]): Promise<void> {
  const batches = events(11, 24, 8);
  const { onTime, late } = splitLate(batches, 4000, (i) => String(i % 2));
  expect(late.length).toBeGreaterThan(0);
  const expected = await oracle(expectedSql, { ev: { columns: COLUMNS, rows: onTime } });
  expect(expected.length).toBeGreaterThan(0);
  const feed = (from: number, to: number): Action[] => batches.slice(from, to).flatMap((b, i) => [AddData('ev', (from + i) % 2, ...b), RunBatch(b.length)]);
  flags.panes = false;
  try {
    await testStream(
      { logs: { ev: 2 }, sql: `${SOURCE} CREATE SINK out WITH (connector = 'parquet', path = '\${dir}/out/out') AS ${query};` },
      StartStream(),
      ...feed(0, 12),
      Assert('old state: raw rows', async (c) => expect(await tables(c)).toEqual(before)),
      StopStream,
      Assert('new version', () => {
        flags.panes = true;
      }),
      StartStream(),
      ...feed(12, 13),
      Assert('new state', async (c) => expect(await tables(c)).toEqual(after)),
      ...feed(13, 24),
      Drain,
      CheckAnswer('out', expected),
    );
  } finally {
    flags.panes = true;
  }
}

const bucket = (size: string, col = 'ts') => `time_bucket(INTERVAL '${size}', ${col})`;

describe('upgrading a checkpoint with raw window rows to pane state', () => {
  it('q5 shape (HOP counts, max per window): the rows become partials, the raw buffer is dropped', async () => {
    const hop = `HOP(ev, ts, INTERVAL '2 seconds', INTERVAL '10 seconds')`;
    await upgrade(
      `SELECT a.usr, a.n, a.window_start FROM (SELECT usr, count(*) AS n, window_start, window_end FROM ${hop} GROUP BY usr, window_start, window_end) a
       JOIN (SELECT max(n) AS maxn, window_start, window_end FROM (SELECT count(*) AS n, window_start, window_end FROM ${hop} GROUP BY usr, window_start, window_end) GROUP BY window_start, window_end) m
       ON a.window_start = m.window_start AND a.window_end = m.window_end AND a.n >= m.maxn`,
      `WITH c AS (SELECT ws, usr, count(*) AS n FROM ev, generate_series(${bucket('2 seconds')} - INTERVAL '8 seconds', ${bucket('2 seconds')}, INTERVAL '2 seconds') AS g(ws) GROUP BY ALL)
       SELECT usr, n, ws AS window_start FROM c JOIN (SELECT ws, max(n) AS maxn FROM c GROUP BY ws) m USING (ws) WHERE n >= maxn`,
      ['buf__out__ev'],
      ['pane0__out__ev'],
    );
  });

  it('q7 shape (rows with the max price per window): the pane maxima are seeded from the kept rows', async () => {
    const tumble = `TUMBLE(ev, ts, INTERVAL '10 seconds')`;
    await upgrade(
      `SELECT B.usr, B.price, B.ts FROM ${tumble} B JOIN (SELECT max(price) AS top, window_start, window_end FROM ${tumble} GROUP BY window_start, window_end) B1
       ON B.window_start = B1.window_start AND B.window_end = B1.window_end AND B.price = B1.top`,
      `SELECT usr, price, ts FROM ev b WHERE price = (SELECT max(price) FROM ev m WHERE ${bucket('10 seconds', 'm.ts')} = ${bucket('10 seconds', 'b.ts')})`,
      ['buf__out__ev'],
      ['buf__out__ev', 'pane0__out__ev'],
    );
  });
});
