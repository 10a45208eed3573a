-- Nexmark q1 (currency conversion): bid prices in euros.
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q1.sql --trigger available-now

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q1 WITH (connector = 'parquet', path = 'out/nexmark/q1') AS
SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bid;
