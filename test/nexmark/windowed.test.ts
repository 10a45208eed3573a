/**
 * Nexmark oracle tests, windowed queries (q5 hopping hot items, q7 highest bid per window, q8 person–auction window
 * join): generated events fed in many small batches and drained; the union of the outputs must equal the same logic
 * written independently (time_bucket, generate_series, plain joins) and run once by DuckDB over all events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkQuery, nexmarkFixture, type NexmarkFixture } from './harness.js';

let f: NexmarkFixture;
beforeAll(async () => {
  f = await nexmarkFixture(5000);
});
afterAll(() => f?.close());

const bucket = (col: string, size = '10 seconds') => `time_bucket(INTERVAL '${size}', ${col})`;

describe('nexmark oracle: windowed queries', () => {
  it('q5: auctions with the most bids per 10 s window sliding by 2 s', async () => {
    await checkQuery(
      f,
      'q5',
      `WITH w AS (SELECT ws, auction FROM bid, generate_series(${bucket('date_time', '2 seconds')} - INTERVAL '8 seconds', ${bucket('date_time', '2 seconds')}, INTERVAL '2 seconds') AS g(ws)),
            c AS (SELECT ws, auction, count(*) AS num FROM w GROUP BY ws, auction)
       SELECT auction, num, ws AS starttime FROM c WHERE num = (SELECT max(num) FROM c AS m WHERE m.ws = c.ws)`,
      160,
      6,
    );
  });

  it('q7: highest bids per 10 s window', async () => {
    await checkQuery(
      f,
      'q7',
      `SELECT auction, price, bidder, date_time, extra FROM bid AS b
       WHERE price = (SELECT max(price) FROM bid AS m WHERE ${bucket('m.date_time')} = ${bucket('b.date_time')})`,
      160,
      6,
    );
  });

  it('q8: persons who opened an auction in the 10 s window they registered in', async () => {
    await checkQuery(
      f,
      'q8',
      `SELECT DISTINCT p.id, p.name, ${bucket('p.date_time')} AS starttime FROM person AS p JOIN auction AS a ON a.seller = p.id AND ${bucket('a.date_time')} = ${bucket('p.date_time')}`,
      9,
      6,
    );
  });
});
