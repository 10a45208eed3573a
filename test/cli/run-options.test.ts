import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log/index.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';
import { canonical } from '../support/stream-test.js';

let cwd: string;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'ds-runopts-'));
  const log = await createLog(join(cwd, 'log'), { partitions: 2 });
  const rows = Array.from({ length: 40 }, (_, i) => ({ ts: new Date(T0 + i * 1000).toISOString(), sku: `s${i % 4}`, qty: 1 + (i % 3) }));
  await log.append(
    0,
    rows.filter((_, i) => i % 2 === 0).map((r) => ({ value: JSON.stringify(r) })),
  );
  await log.append(
    1,
    rows.filter((_, i) => i % 2 === 1).map((r) => ({ value: JSON.stringify(r) })),
  );
  await log.close();
  const e = await Engine.open();
  await e.run(
    `COPY (SELECT * FROM (VALUES ('s0', 'apple'), ('s1', 'pear'), ('s2', 'plum')) t(sku, name)) TO ${literal(join(cwd, 'products.parquet'))} (FORMAT PARQUET)`,
  );
  e.close();
  mkdirSync(join(cwd, 'jobs'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('duckstream run options', () => {
  it('--trigger once runs one uncapped batch; --json prints each progress record; a static Parquet table joins the stream', async () => {
    writeFileSync(
      join(cwd, 'jobs', 'orders.sql'),
      `CREATE SOURCE orders WITH (connector = 'log', path = 'log', format = 'json');
       CREATE TABLE products WITH (connector = 'parquet', path = 'products.parquet');
       CREATE SINK named WITH (connector = 'jsonl', path = 'out/named') AS
       SELECT o.sku, p.name, o.qty FROM orders o LEFT JOIN products p USING (sku);`,
    );
    const run = duckstream(['run', 'jobs/orders.sql', '--trigger', 'once', '--max-records-per-partition', '5', '--json'], { cwd });
    expect(run.status, run.stderr).toBe(0);
    const progress = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { batchId: number; numInputRows: number });
    expect(progress.map((p) => [p.batchId, p.numInputRows])).toEqual([[0, 40]]);
    const e = await Engine.open();
    try {
      const expected = await e.allJson(
        `SELECT 's' || (i % 4) AS sku, CASE i % 4 WHEN 0 THEN 'apple' WHEN 1 THEN 'pear' WHEN 2 THEN 'plum' END AS name, 1 + i % 3 AS qty FROM range(40) t(i)`,
      );
      expect(canonical(await e.allJson(`SELECT * FROM read_json_auto(${literal(join(cwd, 'out/named/*.jsonl'))})`))).toEqual(canonical(expected));
    } finally {
      e.close();
    }
  });

  it("duckstream state queries a stateful job's state read-only, and the catalog has a _latest view for update sinks", async () => {
    writeFileSync(
      join(cwd, 'jobs', 'stock.sql'),
      `CREATE SOURCE orders WITH (connector = 'log', path = 'log', format = 'json', event_time = 'ts', watermark = '2 seconds');
       CREATE SINK per_sku WITH (connector = 'parquet', path = 'out/stock/per_sku', output_mode = 'update') AS
       SELECT sku, sum(qty) AS qty FROM orders GROUP BY sku;
       CREATE SINK per_10s WITH (connector = 'parquet', path = 'out/stock/per_10s') AS
       SELECT window_start, count(*) AS n FROM TUMBLE(orders, ts, INTERVAL '10 seconds') GROUP BY window_start;`,
    );
    const run = duckstream(['run', 'jobs/stock.sql', '--trigger', 'available-now', '--max-records-per-partition', '4'], { cwd });
    expect(run.status, run.stderr).toBe(0);
    const tables = duckstream(['state', '.duckstream/stock', '--json'], { cwd });
    expect(tables.status, tables.stderr).toBe(0);
    const names = tables.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { table: string }).table);
    expect(names).toEqual(expect.arrayContaining(['pane0__per_10s__orders', 'buf__per_sku__orders', 'meta']));
    // Windows not yet closed are in state (a count per 10 s pane): the watermark is min over partitions (38 s, 39 s) − 2 s = 36 s, so only [30 s, 40 s) is open.
    const open = duckstream(
      ['state', '.duckstream/stock', '--json', '--sql', `SELECT __p0::INTEGER AS n, make_timestamp(__ds_pane) AS first FROM "pane0__per_10s__orders"`],
      { cwd },
    );
    expect(open.status, open.stderr).toBe(0);
    expect(JSON.parse(open.stdout) as unknown).toEqual({ n: 10, first: '2026-01-01 10:00:30' });
    const e = await Engine.open(join(cwd, 'out/stock/catalog.duckdb'), { access_mode: 'READ_ONLY' });
    try {
      const expected = await e.allJson(`SELECT 's' || (i % 4) AS sku, sum(1 + i % 3) AS qty FROM range(40) t(i) GROUP BY ALL`);
      expect(canonical(await e.allJson('SELECT sku, qty FROM per_sku_latest'))).toEqual(canonical(expected));
      // The plain view has every version: more rows than keys.
      expect(Number((await e.all('SELECT count(*) AS n FROM per_sku'))[0]!['n'])).toBeGreaterThan(4);
    } finally {
      e.close();
    }
    const status = duckstream(['status', '.duckstream/stock'], { cwd });
    expect(status.stdout).toMatch(/per_10s\s*\|\s*TUMBLE window append, partials per pane\s*\|\s*1\|\s*\d+\|/);
  });
});
