/**
 * Which windowed sub-selects are computed from pane partials, and which raw TVFs are pruned: only shapes where the
 * result is exactly the raw-row one; anything else keeps raw rows (and is covered by the oracle tests as before).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateFunctionNames } from '../../src/job/analyze-query.js';
import { Engine } from '../../src/sql/engine.js';
import { parseSelect } from '../../src/sql/parse-tree.js';
import { planPanes } from '../../src/stateful/window-panes.js';
import { findPruneRules } from '../../src/stateful/window-prune.js';
import { findWindowTvfs } from '../../src/stateful/window-tvf.js';

let e: Engine;
beforeAll(async () => {
  e = await Engine.open();
});
afterAll(() => e?.close());

const T = `TUMBLE(ev, ts, INTERVAL '10 seconds')`;
const H = `HOP(ev, ts, INTERVAL '2 seconds', INTERVAL '10 seconds')`;

async function plan(sql: string, schema?: string) {
  const tree = await parseSelect(e, sql);
  const tvfs = await findWindowTvfs(e, tree, new Set(['ev']), 'out');
  const panes = await planPanes(e, tree, tvfs, await aggregateFunctionNames(e), () => schema);
  return { panes, prune: panes ? findPruneRules(tree, tvfs, panes) : [] };
}

describe('pane partials: which sub-selects', () => {
  it('count(*), count(x), min, max per row keys and window, with a row-level WHERE', async () => {
    const { panes } = await plan(
      `SELECT usr, lower(url), window_start, count(*), count(price), min(price), max(ts) FROM ${H} WHERE price > 3 GROUP BY usr, lower(url), window_start, window_end`,
    );
    expect(panes?.specs.map((s) => ({ keys: s.keySql, where: s.whereSql, partials: s.partials }))).toEqual([
      {
        keys: ['usr', 'lower(url)'],
        where: '(price > 3)',
        partials: [
          { partial: 'count(*)', combine: 'sum(__p0)::BIGINT' },
          { partial: 'count(price)', combine: 'sum(__p1)::BIGINT' },
          { partial: 'min(price)', combine: 'min(__p2)' },
          { partial: 'max(ts)', combine: 'max(__p3)' },
        ],
      },
    ]);
  });

  it('two sub-selects with the same rows, keys and partials share one state', async () => {
    const { panes } = await plan(
      `SELECT a.usr FROM (SELECT usr, count(*) AS n, window_start FROM ${H} GROUP BY usr, window_start) a JOIN (SELECT max(n) AS m, window_start FROM (SELECT count(*) AS n, window_start FROM ${H} GROUP BY usr, window_start) GROUP BY window_start) b ON a.window_start = b.window_start AND a.n = b.m`,
    );
    expect(panes?.specs).toHaveLength(1);
    expect([...panes!.uses.values()].map((u) => u.spec)).toEqual([0, 0]);
  });

  it('sum of integers (declared schema): folded; of a DOUBLE, or of undeclared columns: not', async () => {
    const sql = `SELECT window_start, sum(price), sum(qty * 2) FROM ${T} GROUP BY window_start`;
    const exact = await plan(sql, 'ts TIMESTAMP, price INTEGER, qty BIGINT');
    expect(exact.panes?.specs[0]!.partials).toEqual([
      { partial: 'sum(price)', combine: 'sum(__p0)' },
      { partial: 'sum((qty * 2))', combine: 'sum(__p1)' },
    ]);
    expect((await plan(sql, 'ts TIMESTAMP, price DOUBLE, qty BIGINT')).panes).toBeUndefined();
    expect((await plan(sql)).panes).toBeUndefined();
    expect((await plan(`SELECT window_start, sum(_offset) FROM ${T} GROUP BY window_start`, 'ts TIMESTAMP')).panes?.specs).toHaveLength(1);
  });

  it.each([
    ['sum without a declared schema (a floating-point sum depends on the order)', `SELECT window_start, sum(price) FROM ${T} GROUP BY window_start`],
    ['avg', `SELECT window_start, avg(price) FROM ${T} GROUP BY window_start`],
    ['count(DISTINCT …)', `SELECT window_start, count(DISTINCT usr) FROM ${T} GROUP BY window_start`],
    ['an aggregate with FILTER', `SELECT window_start, count(*) FILTER (WHERE price > 1) FROM ${T} GROUP BY window_start`],
    ['HAVING', `SELECT window_start, count(*) FROM ${T} GROUP BY window_start HAVING count(*) > 1`],
    ['an aggregate of the window bounds', `SELECT window_start, max(ts - window_start) FROM ${T} GROUP BY window_start`],
    ['a WHERE on the window', `SELECT window_start, count(*) FROM ${T} WHERE window_start > TIMESTAMP '2026-01-01' GROUP BY window_start`],
    ['GROUP BY ALL', `SELECT window_start, usr, count(*) FROM ${T} GROUP BY ALL`],
    ['GROUP BY a position', `SELECT usr, window_start, count(*) FROM ${T} GROUP BY 1, window_start`],
    ['a window function', `SELECT window_start, count(*), rank() OVER (PARTITION BY window_start ORDER BY count(*)) FROM ${T} GROUP BY window_start, usr`],
    ['ORDER BY', `SELECT window_start, count(*) AS n FROM ${T} GROUP BY window_start ORDER BY n`],
    ['a column neither grouped nor aggregated', `SELECT window_start, usr, count(*) FROM ${T} GROUP BY window_start`],
    ['no aggregation (rows)', `SELECT * FROM ${T}`],
    ['columns renamed by position', `SELECT window_start, max(usr) FROM ${T} AS t(usr, ts) GROUP BY window_start`],
    [
      'a column of another relation',
      `SELECT w.window_start, w.n FROM other o, (SELECT window_start, count(*) AS n FROM ${T} WHERE price > o.limit GROUP BY window_start) w`,
    ],
  ])('not for %s', async (_what, sql) => {
    expect((await plan(sql)).panes).toBeUndefined();
  });
});

describe('pruned rows: which joins', () => {
  const agg = (items: string, where = '', keys = '') => `(SELECT ${items} FROM ${T}${where} GROUP BY ${keys}window_start, window_end) M`;
  it.each([
    [
      'q7: B.price = max(price) on the window',
      `SELECT B.* FROM ${T} B JOIN ${agg('max(price) AS top, window_start, window_end')} ON B.window_start = M.window_start AND B.window_end = M.window_end AND B.price = M.top`,
      'max',
    ],
    [
      '>= a max, per key, window by its end',
      `SELECT B.* FROM ${T} B JOIN ${agg('usr, max(price) AS top, window_end', '', 'usr, ')} ON B.window_end = M.window_end AND M.usr = B.usr AND B.price >= M.top`,
      'max',
    ],
    [
      '<= a min, flipped sides',
      `SELECT B.* FROM ${agg('min(price) AS low, window_start')} JOIN ${T} B ON M.window_start = B.window_start AND M.low >= B.price`,
      'min',
    ],
  ])('%s', async (_what, sql, fn) => {
    const { prune } = await plan(sql);
    expect(prune.map((r) => r.fn)).toEqual([fn]);
  });

  it.each([
    ['a LEFT JOIN', `SELECT B.* FROM ${T} B LEFT JOIN ${agg('max(price) AS top, window_start')} ON B.window_start = M.window_start AND B.price = M.top`],
    ['no window equality', `SELECT B.* FROM ${T} B JOIN ${agg('max(price) AS top, window_start')} ON B.price = M.top`],
    [
      'a key of the max not equated',
      `SELECT B.* FROM ${T} B JOIN ${agg('usr, max(price) AS top, window_start', '', 'usr, ')} ON B.window_start = M.window_start AND B.price = M.top`,
    ],
    ['<= a max', `SELECT B.* FROM ${T} B JOIN ${agg('max(price) AS top, window_start')} ON B.window_start = M.window_start AND B.price <= M.top`],
    [
      'another column than the max',
      `SELECT B.* FROM ${T} B JOIN ${agg('max(price) AS top, window_start')} ON B.window_start = M.window_start AND B.bid = M.top`,
    ],
    ['a count', `SELECT B.* FROM ${T} B JOIN ${agg('count(*) AS top, window_start')} ON B.window_start = M.window_start AND B.price = M.top`],
    [
      'raw columns renamed by position',
      `SELECT B.* FROM ${T} AS B(ts, price) JOIN ${agg('max(price) AS top, window_start')} ON B.window_start = M.window_start AND B.price = M.top`,
    ],
    [
      'a HOP',
      `SELECT B.* FROM ${H} B JOIN (SELECT max(price) AS top, window_start FROM ${H} GROUP BY window_start) M ON B.window_start = M.window_start AND B.price = M.top`,
    ],
  ])('not for %s', async (_what, sql) => {
    expect((await plan(sql)).prune).toEqual([]);
  });
});
