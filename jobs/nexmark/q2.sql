-- Nexmark q2 (selection): bids on a set of auctions (MOD(auction, 123) = 0).
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q2.sql --trigger available-now

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q2 WITH (connector = 'parquet', path = 'out/nexmark/q2') AS
SELECT auction, price FROM bid WHERE auction % 123 = 0;
