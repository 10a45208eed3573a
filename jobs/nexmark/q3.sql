-- Nexmark q3 (local item suggestion): sellers in OR, ID or CA of auctions in category 10.
-- A regular (unbounded) stream–stream inner join, in append mode (Flink's regular join, Spark's stream–stream
-- inner join without a time bound): a seller may have registered arbitrarily long before the auction, so both
-- sides are kept in state for good. Only what the query needs is stored: auctions of category 10 and persons in
-- OR/ID/CA (the filters that read one side only), and only the columns the query reads. State grows with the
-- input; test/nexmark/joins.test.ts checks the output against one DuckDB query over all events.
-- Data: npx duckstream gen nexmark --events 1000000 --to data/nexmark
-- Run:  npx duckstream run jobs/nexmark/q3.sql --trigger available-now

CREATE SOURCE auction WITH (
  connector = 'log', path = 'data/nexmark/auction', format = 'json',
  schema = 'id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT, date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SOURCE person WITH (
  connector = 'log', path = 'data/nexmark/person', format = 'json',
  schema = 'id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR, state VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  event_time = 'date_time', watermark = '4 seconds'
);

CREATE SINK q3 WITH (connector = 'parquet', path = 'out/nexmark/q3') AS
SELECT P.name, P.city, P.state, A.id
FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
