-- Stateful streaming SQL over page views: per-minute traffic per route (tumbling windows), user sessions
-- (session windows), and running totals per country (update mode, upserted into a DuckDB table).
-- Run it to the end of the sample data, closing every window:
--   npx duckstream run jobs/pageview-stats.sql --trigger available-now --drain

CREATE SOURCE pageviews WITH (
  connector = 'log', path = 'data/logs/pageviews', format = 'json',
  event_time = 'ts', watermark = '5 seconds'
);

-- Emitted once per minute and route, when the watermark passes the end of the minute (append mode).
CREATE SINK per_minute WITH (connector = 'parquet', path = 'out/pageview-stats/per_minute') AS
SELECT window_start, window_end,
       regexp_replace(url, '[0-9]+', '{id}', 'g') AS route,
       count(*) AS views,
       count(*) FILTER (WHERE status >= 500) AS errors,
       max(latency_ms) AS max_latency_ms,
       count(DISTINCT user_id) AS users
FROM TUMBLE(pageviews, ts, INTERVAL '1 minute')
GROUP BY window_start, window_end, route;

-- A session ends after 2 minutes without a page view from that user.
CREATE SINK sessions WITH (connector = 'parquet', path = 'out/pageview-stats/sessions') AS
SELECT user_id, window_start AS session_start, window_end AS session_end,
       count(*) AS views, list(url ORDER BY ts, url) AS path
FROM SESSION(pageviews, ts, INTERVAL '2 minutes', user_id)
GROUP BY user_id, window_start, window_end;

-- Running totals: each batch upserts the countries it changed.
CREATE SINK by_country WITH (connector = 'duckdb', path = 'out/pageview-stats/totals.duckdb', table = 'by_country', output_mode = 'update') AS
SELECT country, count(*) AS views, sum(bytes) AS bytes
FROM pageviews
GROUP BY country;
