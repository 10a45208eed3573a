-- Nexmark q0 (pass-through): every bid, unchanged. Measures the cost of reading, decoding and writing.
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q0.sql --trigger available-now

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q0 WITH (connector = 'parquet', path = 'out/nexmark/q0') AS
SELECT auction, bidder, price, date_time, extra FROM bid;
