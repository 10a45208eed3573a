/**
 * Nexmark oracle tests, stateless queries (q0, q1, q2, q10, q22): generated events fed in many small batches; the
 * union of each query's output must equal the same logic run once by DuckDB over all events.
 */
import { join } from 'node:path';
import { filesUnder } from '../../src/sink/partitioned-files.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkQuery, nexmarkFixture, type NexmarkFixture } from './harness.js';

let f: NexmarkFixture;
beforeAll(async () => {
  f = await nexmarkFixture(3000);
});
afterAll(() => f?.close());

describe('nexmark oracle: stateless queries', () => {
  it('q0: every bid', async () => {
    await checkQuery(f, 'q0', 'SELECT auction, bidder, price, date_time, extra FROM bid', 250, 3);
  });
  it('q1: prices in euros', async () => {
    await checkQuery(f, 'q1', 'SELECT auction, bidder, price * 0.908 AS price, date_time, extra FROM bid', 250, 3);
  });
  it('q2: bids on auctions with MOD(auction, 123) = 0', async () => {
    await checkQuery(f, 'q2', 'SELECT auction, price FROM bid WHERE mod(auction, 123) = 0', 250, 3);
  });
  it('q10: bids with date and hour:minute columns, in a sink partitioned by them', async () => {
    const hm = `lpad(hour(date_time)::VARCHAR, 2, '0') || ':' || lpad(minute(date_time)::VARCHAR, 2, '0')`;
    await checkQuery(f, 'q10', `SELECT auction, bidder, price, date_time, extra, date_time::DATE::VARCHAR AS dt, ${hm} AS hm FROM bid`, 250, 3);
    // One directory per (date, minute) the bids fall in, every file inside one: Hive layout, ':' escaped.
    const dirs = filesUnder(join(f.cwd, 'out/nexmark/q10'))
      .filter((p) => !p.startsWith('_manifest/'))
      .map((p) => p.replace(/\/[^/]+$/, ''));
    const expected = await f.oracle.allJson(
      `SELECT DISTINCT 'dt=' || date_time::DATE::VARCHAR || '/hm=' || replace(${hm}, ':', '%3A') AS d FROM bid ORDER BY d`,
    );
    expect([...new Set(dirs)].sort()).toEqual(expected.map((r) => r['d']));
  });
  it('q22: url directories', async () => {
    await checkQuery(
      f,
      'q22',
      `SELECT auction, bidder, price, channel, string_split(url, '/')[4] AS dir1, string_split(url, '/')[5] AS dir2, string_split(url, '/')[6] AS dir3 FROM bid`,
      250,
      3,
    );
  });
});
