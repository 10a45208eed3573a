import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJob } from '../../src/job/parse-job.js';
import { queryReads, sourceReadColumns, type ReadColumns } from '../../src/job/source-columns.js';
import { trySelect as selectTree } from '../../src/sql/parse-tree.js';
import { Engine } from '../../src/sql/engine.js';
import { referencedColumns as stateColumns } from '../../src/stateful/stream-refs.js';
import { referencedColumns as windowColumns } from '../../src/stateful/window-columns.js';

/*
 * The column analysis behind decode-side projection. Each shape states exactly which of the source's value columns
 * must be kept; for stateless shapes, the query must also bind against tables holding only those columns (the
 * failure a wrong pruning would cause at run time).
 */

const BID = ['auction', 'bidder', 'price', 'channel', 'url', 'date_time', 'extra'];
const AUCTION = ['id', 'item_name', 'description', 'initial_bid', 'reserve', 'date_time', 'expires', 'seller', 'category', 'extra'];
const COLUMNS: Record<string, string[]> = { bid: BID, auction: AUCTION };
const TYPES: Record<string, string> = {
  auction: 'BIGINT',
  bidder: 'BIGINT',
  price: 'BIGINT',
  id: 'BIGINT',
  seller: 'BIGINT',
  category: 'BIGINT',
  initial_bid: 'BIGINT',
  reserve: 'BIGINT',
  date_time: 'TIMESTAMP',
  expires: 'TIMESTAMP',
};
const META = '_topic VARCHAR, _partition INTEGER, _offset BIGINT, _timestamp TIMESTAMP, _key VARCHAR';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.open();
});
afterAll(() => engine.close());

/** The source columns kept for `source` (in schema order), or 'all'. */
function kept(columns: ReadColumns, source: string): string[] | 'all' {
  return columns ? COLUMNS[source]!.filter((c) => columns.has(c)) : 'all';
}

/** The query's analysis as kept columns per source it reads. */
async function keptByQuery(sql: string): Promise<Record<string, string[] | 'all'>> {
  const tree = await selectTree(engine, sql);
  if (!tree) throw new Error(`cannot parse ${sql}`);
  const reads = queryReads(tree, ['bid', 'auction']);
  return Object.fromEntries(reads.sources.map((s) => [s, reads.everything ? 'all' : kept(reads.names, s)]));
}

/** DESCRIBE the query over tables holding only the kept columns of each source. */
async function bindsWith(sql: string, keep: Record<string, string[] | 'all'>, types: Record<string, string> = {}): Promise<void> {
  for (const source of ['bid', 'auction']) {
    const k = keep[source] ?? [];
    const cols = (k === 'all' ? COLUMNS[source]! : k).map((c) => `${c} ${types[c] ?? TYPES[c] ?? 'VARCHAR'}`);
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${source} (${[META, ...cols].join(', ')})`);
  }
  await engine.run(`DESCRIBE ${sql}`);
}

const STATELESS: [string, string, Record<string, string[] | 'all'>, Record<string, string>?][] = [
  ['plain projection and filter (q2)', 'SELECT auction, price FROM bid WHERE auction % 123 = 0', { bid: ['auction', 'price'] }],
  ['a column only in WHERE', "SELECT auction FROM bid WHERE channel = 'Google'", { bid: ['auction', 'channel'] }],
  ['table alias and column alias', 'SELECT B.price AS p, B.bidder AS who FROM bid AS B', { bid: ['bidder', 'price'] }],
  ['case differences', 'SELECT PRICE, "Bidder" FROM "BID" WHERE Date_Time IS NOT NULL', { bid: ['bidder', 'price', 'date_time'] }],
  ['subquery in FROM', 'SELECT a FROM (SELECT auction AS a, price FROM bid WHERE url IS NULL) s WHERE price > 10', { bid: ['auction', 'price', 'url'] }],
  ['CTE', 'WITH c AS (SELECT auction AS a, extra FROM bid) SELECT a, length(extra) FROM c', { bid: ['auction', 'extra'] }],
  ['scalar subquery', 'SELECT auction, (SELECT max(price) FROM bid) AS m FROM bid', { bid: ['auction', 'price'] }],
  [
    'struct-ish references',
    "SELECT bid.extra.x, extra.y, url['k'] FROM bid",
    { bid: ['url', 'extra'] },
    { extra: 'STRUCT(x INTEGER, y INTEGER)', url: 'MAP(VARCHAR, INTEGER)' },
  ],
  ['count(*) is not a star', 'SELECT auction, count(*) OVER (PARTITION BY bidder) FROM bid', { bid: ['auction', 'bidder'] }],
  [
    'QUALIFY and ORDER BY',
    'SELECT auction FROM bid QUALIFY row_number() OVER (PARTITION BY channel ORDER BY price) = 1 ORDER BY bidder',
    { bid: ['auction', 'bidder', 'price', 'channel'] },
  ],
  ['lambda', 'SELECT list_transform([price], x -> x + bidder) FROM bid', { bid: ['bidder', 'price'] }],
  ['join USING', 'SELECT b.price FROM bid b JOIN auction a USING (date_time)', { bid: ['price', 'date_time'], auction: ['date_time'] }],
  ['metadata only', 'SELECT _offset, _key FROM bid', { bid: [] }],
  ['star', 'SELECT * FROM bid', { bid: 'all' }],
  ['star of one relation', 'SELECT b.*, a.id FROM bid b, auction a', { bid: 'all', auction: 'all' }],
  ['star over a subquery', 'SELECT * FROM (SELECT auction FROM bid)', { bid: 'all' }],
  ['star with EXCLUDE', 'SELECT * EXCLUDE (extra) FROM bid', { bid: 'all' }],
  ['COLUMNS(…)', "SELECT COLUMNS('p.*') FROM bid", { bid: 'all' }],
  ['positional reference', 'SELECT #1 FROM bid', { bid: 'all' }],
  ['whole row', 'SELECT b FROM bid b', { bid: 'all' }],
  ['whole row in a function', 'SELECT to_json(bid) FROM bid', { bid: 'all' }],
  ['columns renamed by position', 'SELECT x FROM bid AS b(x, y)', { bid: 'all' }],
  ['NATURAL join', 'SELECT b.price FROM bid b NATURAL JOIN auction a', { bid: 'all', auction: 'all' }],
  ['query_table reads any source', "SELECT price FROM query_table('bid')", { bid: 'all', auction: 'all' }],
];

describe('queryReads', () => {
  for (const [name, sql, expected, types] of STATELESS) {
    it(`${name}: ${sql}`, async () => {
      const got = await keptByQuery(sql);
      expect(got).toEqual(expected);
      await bindsWith(sql, got, types);
    });
  }

  it('a wrongly pruned column fails to bind (the check above can fail)', async () => {
    await expect(bindsWith("SELECT auction FROM bid WHERE channel = 'Google'", { bid: ['auction'] })).rejects.toThrow(/channel/);
  });

  it('q4: a stream–stream join with qualified names', async () => {
    const q4 = `SELECT Q.category, AVG(Q.final) AS avg_final FROM (
      SELECT MAX(B.price) AS final, A.category FROM auction A, bid B
      WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires GROUP BY A.id, A.category) Q
      GROUP BY Q.category`;
    // Names are pooled over the query: `auction` (B.auction) is not an auction column, `id` not a bid one.
    expect(await keptByQuery(q4)).toEqual({ bid: ['auction', 'price', 'date_time'], auction: ['id', 'date_time', 'expires', 'category'] });
  });

  it('window TVFs (q5, q7): the source argument is not a column, the event time is', async () => {
    const q5 = `SELECT auction, count(*) AS num, window_start FROM HOP(bid, date_time, INTERVAL '2 seconds', INTERVAL '10 seconds') GROUP BY auction, window_start, window_end`;
    expect(await keptByQuery(q5)).toEqual({ bid: ['auction', 'date_time'] });
    const q7 = `SELECT B.auction, B.price, B.bidder, B.date_time, B.extra FROM TUMBLE(bid, date_time, INTERVAL '10 seconds') B
      JOIN (SELECT max(price) AS maxprice, window_start, window_end FROM TUMBLE(bid, date_time, INTERVAL '10 seconds') GROUP BY window_start, window_end) B1
      ON B.window_start = B1.window_start AND B.window_end = B1.window_end AND B.price = B1.maxprice`;
    expect(await keptByQuery(q7)).toEqual({ bid: ['auction', 'bidder', 'price', 'date_time', 'extra'] });
  });

  it('window TVFs: whole rows, renamed columns and an event time naming no column keep everything', async () => {
    expect(await keptByQuery(`SELECT t FROM TUMBLE(bid, date_time, INTERVAL '10 seconds') t`)).toEqual({ bid: 'all' });
    expect(await keptByQuery(`SELECT to_json(bid) FROM TUMBLE(bid, date_time, INTERVAL '10 seconds')`)).toEqual({ bid: 'all' });
    expect(await keptByQuery(`SELECT x FROM TUMBLE(bid, date_time, INTERVAL '10 seconds') AS t(x, y)`)).toEqual({ bid: 'all' });
    expect(await keptByQuery(`SELECT auction FROM TUMBLE(bid, TIMESTAMP '2024-01-01', INTERVAL '10 seconds')`)).toEqual({ bid: 'all' });
  });

  it('a column named like another source does not make that source read', async () => {
    expect(await keptByQuery(`SELECT auction, 'auction' AS label, price FROM bid`)).toEqual({ bid: ['auction', 'price'] });
  });
});

const SOURCES = `
CREATE SOURCE bid WITH (connector = 'log', path = 'data/bid', format = 'json',
  schema = '${BID.map((c) => `${c} ${TYPES[c] ?? 'VARCHAR'}`).join(', ')}', event_time = 'date_time', watermark = '4 seconds');
CREATE SOURCE auction WITH (connector = 'log', path = 'data/auction', format = 'json',
  schema = '${AUCTION.map((c) => `${c} ${TYPES[c] ?? 'VARCHAR'}`).join(', ')}');
`;

async function jobColumns(text: string, wholeRows: string[] = []): Promise<Record<string, string[] | 'all'>> {
  const def = parseJob(SOURCES + text, 'job.sql');
  const read = await sourceReadColumns(engine, def, { wholeRows });
  return Object.fromEntries([...read].map(([s, cols]) => [s, kept(cols, s)]));
}

describe('sourceReadColumns over a job', () => {
  it('unions every sink reading a source, adds the event time, and prunes a source no sink reads', async () => {
    const got = await jobColumns(`
      CREATE SINK a WITH (connector = 'parquet', path = 'out/a') AS SELECT auction, price FROM bid;
      CREATE SINK b WITH (connector = 'parquet', path = 'out/b') AS SELECT bidder FROM bid WHERE url LIKE 'https%';`);
    expect(got).toEqual({ bid: ['auction', 'bidder', 'price', 'url', 'date_time'], auction: [] });
  });

  it('an event-time expression keeps the columns it reads, though no query selects them', async () => {
    const def = parseJob(
      `CREATE SOURCE e WITH (connector = 'log', path = 'data/e', schema = 'v BIGINT, ts_ms BIGINT, other VARCHAR', event_time = 'make_timestamp(ts_ms * 1000)', watermark = '1 second');
       CREATE SINK s WITH (connector = 'parquet', path = 'out/s') AS SELECT v FROM e;`,
      'job.sql',
    );
    expect([...(await sourceReadColumns(engine, def)).get('e')!].sort()).toEqual(['ts_ms', 'v']);
  });

  it('sink key / partition_by options are kept', async () => {
    const got = await jobColumns(
      `CREATE SINK a WITH (connector = 'parquet', path = 'out/a', partition_by = 'channel') AS SELECT price, channel AS c FROM bid;`,
    );
    expect(got['bid']).toEqual(['price', 'channel', 'date_time']);
  });

  it('a view in a setup statement, a late-data output, or an operator storing whole rows keeps every column', async () => {
    expect(
      await jobColumns(`CREATE VIEW v AS SELECT price FROM bid;
      CREATE SINK a WITH (connector = 'parquet', path = 'out/a') AS SELECT price FROM v;`),
    ).toEqual({ bid: 'all', auction: [] });
    const late = parseJob(
      SOURCES.replace("watermark = '4 seconds'", "watermark = '4 seconds', late_data_path = 'late'") +
        `CREATE SINK a WITH (connector = 'parquet', path = 'out/a') AS SELECT price FROM bid;`,
      'job.sql',
    );
    expect((await sourceReadColumns(engine, late)).get('bid')).toBeUndefined();
    expect(await jobColumns(`CREATE SINK a WITH (connector = 'parquet', path = 'out/a') AS SELECT price FROM bid;`, ['BID'])).toEqual({
      bid: 'all',
      auction: [],
    });
  });

  it('a call to a macro of the setup keeps every column of the sources read (its body may name their columns)', async () => {
    const got = await jobColumns(`CREATE MACRO dear() AS price * 2;
      CREATE OR REPLACE TEMP MACRO "Other"(x) AS x;
      CREATE SINK a WITH (connector = 'parquet', path = 'out/a') AS SELECT auction, dear() AS d FROM bid;
      CREATE SINK b WITH (connector = 'parquet', path = 'out/b') AS SELECT other(id) FROM auction;`);
    expect(got).toEqual({ bid: 'all', auction: 'all' });
    expect(
      await jobColumns(`CREATE MACRO dear(p) AS p * 2;
      CREATE SINK a WITH (connector = 'parquet', path = 'out/a') AS SELECT auction, abs(price) AS d FROM bid;`),
    ).toEqual({ bid: ['auction', 'price', 'date_time'], auction: [] });
  });

  it('an event-time expression that does not parse keeps every column', async () => {
    const def = parseJob(
      `CREATE SOURCE e WITH (connector = 'log', path = 'data/e', schema = 'v BIGINT, ts TIMESTAMP', event_time = 'ts)) (', watermark = '1 second');
       CREATE SINK s WITH (connector = 'parquet', path = 'out/s') AS SELECT v FROM e;`,
      'job.sql',
    );
    expect((await sourceReadColumns(engine, def)).get('e')).toBeUndefined();
  });
});

describe('state projections use the same analysis', () => {
  it('joins and aggregates (stream-refs): a whole-row reference keeps every column; otherwise the named ones and _offset', async () => {
    const whole = await selectTree(engine, 'SELECT b, a.id FROM bid AS b JOIN auction AS a ON b.auction = a.id');
    expect(stateColumns(whole!)).toBeUndefined();
    const named = await selectTree(engine, 'SELECT a.id, max(b.price) AS top FROM bid AS b JOIN auction AS a ON b.auction = a.id GROUP BY a.id');
    expect(stateColumns(named!)).toEqual(['_offset', 'a', 'auction', 'b', 'id', 'price']);
  });

  it('windows (window-columns): the TVF source is not a column; a whole windowed row keeps everything', async () => {
    const named = await selectTree(engine, "SELECT auction, count(*) AS n, window_start FROM TUMBLE(bid, date_time, INTERVAL '10 seconds') GROUP BY ALL");
    expect([...windowColumns(named!, ['bid'])!].filter((c) => BID.includes(c)).sort()).toEqual(['auction', 'date_time']);
    const whole = await selectTree(engine, "SELECT t FROM TUMBLE(bid, date_time, INTERVAL '10 seconds') AS t");
    expect(windowColumns(whole!, ['bid'])).toBeUndefined();
  });
});
