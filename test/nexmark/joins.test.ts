/**
 * Nexmark oracle tests, stream–stream joins without an event-time bound: q3 (regular inner join, append) and q4
 * (aggregate over a join, update mode). Generated events are fed in many small batches; the outputs must equal
 * the same logic written independently and run once by DuckDB over all events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';
import { canonical } from '../support/stream-test.js';
import { checkQuery, nexmarkFixture, type NexmarkFixture } from './harness.js';

let f: NexmarkFixture;
beforeAll(async () => {
  f = await nexmarkFixture(5000);
});
afterAll(() => f?.close());

describe('nexmark oracle: stream–stream joins', () => {
  it('q3: persons in OR/ID/CA selling in category 10 (regular join; exact multiset of all batches)', async () => {
    const rows = await checkQuery(
      f,
      'q3',
      `SELECT p.name, p.city, p.state, a.id FROM person AS p, auction AS a
       WHERE p.id = a.seller AND p.state IN ('CA', 'ID', 'OR') AND a.category = 10`,
      9,
      6,
    );
    expect(rows).toBeGreaterThan(1);
  });

  it('q4: average winning bid per category (update mode; the last row per category equals the batch query)', async () => {
    const run = duckstream(['run', resolve('jobs/nexmark/q4.sql'), '--trigger', 'available-now', '--max-records-per-partition', '60'], { cwd: f.cwd });
    expect(run.status, run.stderr).toBe(0);
    const progress = readFileSync(join(f.cwd, '.duckstream', 'q4', 'progress.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((l) => JSON.parse(l) as { numRowsDroppedByWatermark: number; sinks: { numOutputRows: number }[] });
    expect(progress.length).toBeGreaterThanOrEqual(6);
    expect(
      progress.reduce((a, p) => a + p.numRowsDroppedByWatermark, 0),
      'late rows',
    ).toBe(0);
    // Update mode emits changed rows only: several batches, and fewer rows than categories × batches.
    const emitted = progress.map((p) => p.sinks[0]?.numOutputRows ?? 0);
    expect(emitted.filter((n) => n > 0).length).toBeGreaterThan(1);
    const expected = await f.oracle.allJson(
      `WITH winning AS (
         SELECT a.id, any_value(a.category) AS category, max(b.price) AS price
         FROM bid AS b JOIN auction AS a ON b.auction = a.id
         WHERE b.date_time >= a.date_time AND b.date_time <= a.expires
         GROUP BY a.id)
       SELECT category, round(sum(price) / count(*), 6) AS avg_final FROM winning GROUP BY category`,
    );
    const glob = join(f.cwd, 'out/nexmark/q4', '*.parquet');
    expect(existsSync(join(f.cwd, 'out/nexmark/q4'))).toBe(true);
    const latest = await f.oracle.allJson(
      `SELECT category, round(avg_final, 6) AS avg_final FROM read_parquet(${literal(glob)}, filename = true)
       QUALIFY row_number() OVER (PARTITION BY category ORDER BY filename DESC) = 1`,
    );
    expect(expected.length, 'the oracle finds categories').toBeGreaterThan(1);
    expect(canonical(latest)).toEqual(canonical(expected));
    const all = await f.oracle.allJson(`SELECT count(*)::INTEGER AS n FROM read_parquet(${literal(glob)})`);
    expect(Number(all[0]!['n'])).toBe(emitted.reduce((a, n) => a + n, 0));
  });
});
