-- Nexmark q5 (hot items): per sliding window (10 s, every 2 s), the auctions with the most bids.
-- As the reference (an aggregate joined with its per-window maximum), with two changes: the window columns keep
-- their names window_start/window_end inside the subqueries (our windowed GROUP BY must name them), and the output
-- carries the window start, so rows of different windows can be told apart.
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q5.sql --trigger available-now --drain

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q5 WITH (connector = 'parquet', path = 'out/nexmark/q5') AS
SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.window_start AS starttime
FROM (
  SELECT auction, count(*) AS num, window_start, window_end
  FROM HOP(bid, date_time, INTERVAL '2 seconds', INTERVAL '10 seconds')
  GROUP BY auction, window_start, window_end
) AS AuctionBids
JOIN (
  SELECT max(CountBids.num) AS maxn, CountBids.window_start, CountBids.window_end
  FROM (
    SELECT count(*) AS num, window_start, window_end
    FROM HOP(bid, date_time, INTERVAL '2 seconds', INTERVAL '10 seconds')
    GROUP BY auction, window_start, window_end
  ) AS CountBids
  GROUP BY CountBids.window_start, CountBids.window_end
) AS MaxBids
ON AuctionBids.window_start = MaxBids.window_start AND AuctionBids.window_end = MaxBids.window_end
   AND AuctionBids.num >= MaxBids.maxn;
