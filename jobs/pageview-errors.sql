-- The main example job (npm start): server errors and slow pages out of a page-view stream,
-- enriched with a static country table (a stream-static join), written to Parquet for notebooks.

CREATE SOURCE pageviews WITH (
  connector = 'log',
  path = 'data/logs/pageviews',
  format = 'json',
  event_time = 'ts'
);

CREATE TABLE countries WITH (connector = 'csv', path = 'data/countries.csv');

CREATE SINK errors WITH (connector = 'parquet', path = 'out/pageview-errors/errors') AS
SELECT p.ts, p.user_id, p.url, p.status, p.latency_ms, c.name AS country
FROM pageviews p LEFT JOIN countries c ON c.code = p.country
WHERE p.status >= 500;

CREATE SINK slow_pages WITH (connector = 'parquet', path = 'out/pageview-errors/slow_pages') AS
SELECT ts, url, latency_ms, status, regexp_replace(url, '[0-9]+', '{id}', 'g') AS route
FROM pageviews
WHERE latency_ms > 1000;

CREATE SINK latest_errors WITH (connector = 'console', max_rows = 5) AS
SELECT strftime(ts, '%H:%M:%S') AS time, status, url, _partition AS p, _offset AS offset
FROM pageviews
WHERE status >= 500;
