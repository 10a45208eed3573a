-- Nexmark q10 (log to file system): every bid with its date and hour-minute, into a sink partitioned by them:
-- out/nexmark/q10/dt=2015-07-15/hm=00%3A00/part-<batch>_0.parquet (':' is escaped in directory names).
-- Read: SELECT * FROM read_parquet('out/nexmark/q10/*/*/*.parquet', hive_partitioning = true)
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q10.sql --trigger available-now

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q10 WITH (connector = 'parquet', path = 'out/nexmark/q10', partition_by = 'dt, hm') AS
SELECT auction, bidder, price, date_time, extra,
       strftime(date_time, '%Y-%m-%d') AS dt, strftime(date_time, '%H:%M') AS hm
FROM bid;
