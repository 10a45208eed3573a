-- Page views into PostgreSQL (docs/connectors/postgres.md): server errors appended as they come, and per-URL
-- totals kept up to date with an upsert. Runs against the local server (127.0.0.1:5432, trust, db `test`):
--   npx duckstream demo                 # fills data/logs/pageviews with sample page views (and runs the main job)
--   npx duckstream run jobs/pageview-postgres.sql --trigger available-now
--   psql -h 127.0.0.1 -U postgres test -c 'SELECT * FROM pageview_url_totals ORDER BY views DESC LIMIT 5'

CREATE SOURCE pageviews WITH (
  connector = 'log',
  path = 'data/logs/pageviews',
  format = 'json',
  event_time = 'ts',
  watermark = '5 seconds' -- page views arrive up to 1.5 s out of order: none is late for the totals
);

CREATE SINK pageview_errors WITH (
  connector = 'postgres',
  url = 'postgres://postgres@127.0.0.1:5432/test',
  table = 'pageview_errors'
) AS
SELECT ts, user_id, url, status, latency_ms
FROM pageviews
WHERE status >= 500;

CREATE SINK pageview_url_totals WITH (
  connector = 'postgres',
  url = 'postgres://postgres@127.0.0.1:5432/test',
  table = 'pageview_url_totals',
  output_mode = 'update'
) AS
SELECT url, count(*) AS views, count(*) FILTER (WHERE status >= 500) AS errors, max(latency_ms) AS max_latency_ms
FROM pageviews
GROUP BY url;
