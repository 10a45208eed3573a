-- The golden test's oracle for pageview-stats.sql: each sink's final content as one DuckDB batch query over all
-- input, written without our window functions (time_bucket, and sessions from gaps between a user's views).

CREATE VIEW per_minute AS
SELECT time_bucket(INTERVAL '1 minute', ts) AS window_start, time_bucket(INTERVAL '1 minute', ts) + INTERVAL '1 minute' AS window_end,
       regexp_replace(url, '[0-9]+', '{id}', 'g') AS route,
       count(*) AS views, count(*) FILTER (WHERE status >= 500) AS errors, max(latency_ms) AS max_latency_ms, count(DISTINCT user_id) AS users
FROM pageviews GROUP BY ALL;

CREATE VIEW sessions AS
WITH gaps AS (
  SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) <= INTERVAL '2 minutes' THEN 0 ELSE 1 END AS new_session FROM pageviews
), numbered AS (
  SELECT *, sum(new_session) OVER (PARTITION BY user_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS session FROM gaps
)
SELECT user_id, min(ts) AS session_start, max(ts) + INTERVAL '2 minutes' AS session_end, count(*) AS views, list(url ORDER BY ts, url) AS path
FROM numbered GROUP BY user_id, session;

CREATE VIEW by_country AS SELECT country, count(*) AS views, sum(bytes) AS bytes FROM pageviews GROUP BY country;
