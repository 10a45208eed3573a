-- Nexmark q4 (average closing price per category): the winning bid of each auction (max price among bids made
-- between the auction's start and its expiry), averaged per category.
-- An aggregation over a stream–stream join, in update mode. duckstream joins auctions and bids incrementally and
-- folds each new joined bid into its auction's running MAX (one state row per auction), then averages per
-- category and emits the categories whose average changed. The BETWEEN bounds the join in event time: a bid leaves
-- state once the watermark passes its date_time (a later auction cannot start before it), an auction once the
-- watermark passes its expires (no later bid can fall before it). State: open auctions, bids within the watermark
-- delay, and one row per auction seen (that part grows with the input). The last row per category equals the batch
-- query over all events (test/nexmark/joins.test.ts).
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q4.sql --trigger available-now

CREATE SOURCE auction WITH (
  connector = 'log', path = 'data/nexmark/auction', format = 'json',
  schema = 'id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT, date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q4 WITH (connector = 'parquet', path = 'out/nexmark/q4', output_mode = 'update') AS
SELECT Q.category, AVG(Q.final) AS avg_final
FROM (
  SELECT MAX(B.price) AS final, A.category
  FROM auction A, bid B
  WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires
  GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
