-- Nexmark q7 (highest bid): the bids with the highest price of each 10-second tumbling window.
-- Rewritten: the reference joins the raw bid stream with the windowed maxima on
-- B.date_time BETWEEN window_end - 10 s AND window_end; duckstream refuses a query that reads a stream both through
-- a window and directly, so both sides go through the same TUMBLE and join on the window. Equivalent except at the
-- boundary: the reference's BETWEEN is closed at both ends, so a bid at exactly window_end whose price equals the
-- previous window's maximum is also emitted there; windows here are half-open [start, end), as everywhere in
-- duckstream.
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q7.sql --trigger available-now --drain

CREATE SOURCE bid WITH (
  connector = 'log', path = 'data/nexmark/bid', format = 'json',
  schema = 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q7 WITH (connector = 'parquet', path = 'out/nexmark/q7') AS
SELECT B.auction, B.price, B.bidder, B.date_time, B.extra
FROM TUMBLE(bid, date_time, INTERVAL '10 seconds') B
JOIN (
  SELECT max(price) AS maxprice, window_start, window_end
  FROM TUMBLE(bid, date_time, INTERVAL '10 seconds')
  GROUP BY window_start, window_end
) B1
ON B.window_start = B1.window_start AND B.window_end = B1.window_end AND B.price = B1.maxprice;
