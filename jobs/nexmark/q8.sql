-- Nexmark q8 (monitor new users): persons who registered and opened an auction in the same 10-second tumbling
-- window (a window join). As the reference.
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q8.sql --trigger available-now --drain

CREATE SOURCE person WITH (
  connector = 'log', path = 'data/nexmark/person', format = 'json',
  schema = 'id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR, state VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SOURCE auction WITH (
  connector = 'log', path = 'data/nexmark/auction', format = 'json',
  schema = 'id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT, date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q8 WITH (connector = 'parquet', path = 'out/nexmark/q8') AS
SELECT P.id, P.name, P.starttime
FROM (
  SELECT id, name, window_start AS starttime, window_end AS endtime
  FROM TUMBLE(person, date_time, INTERVAL '10 seconds')
  GROUP BY id, name, window_start, window_end
) P
JOIN (
  SELECT seller, window_start AS starttime, window_end AS endtime
  FROM TUMBLE(auction, date_time, INTERVAL '10 seconds')
  GROUP BY seller, window_start, window_end
) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
