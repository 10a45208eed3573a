-- Nexmark q10 (log to file system): every bid with its date and hour-minute, for a sink partitioned by them.
-- GAP: duckstream's Parquet sink has no partitioned layout yet (no partition_by): it writes dt and hm as ordinary
-- columns into part-<batch>.parquet files. A notebook can still prune by them (Parquet row-group statistics), or
-- re-partition with COPY (SELECT * FROM 'out/nexmark/q10/*.parquet') TO '…' (PARTITION_BY (dt, hm)).
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q10.sql --trigger available-now

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q10 WITH (connector = 'parquet', path = 'out/nexmark/q10') AS
SELECT auction, bidder, price, date_time, extra,
       strftime(date_time, '%Y-%m-%d') AS dt, strftime(date_time, '%H:%M') AS hm
FROM bid;
