-- Nexmark q3 (local item suggestion): sellers in OR, ID or CA of auctions in category 10.
-- BLOCKED: this is an unbounded stream–stream join (every auction may match any earlier or later person), and
-- duckstream refuses joins without an event-time bound at start ("a stream–stream join … bound the join in event
-- time"), because their state would grow forever. Flink and RisingWave run it with unbounded state (regular join,
-- retractions). No equivalent bounded shape exists: an interval join (a.date_time BETWEEN p.date_time … ) changes
-- the result (a seller may have registered arbitrarily long before the auction). What it needs from the engine: a
-- regular (unbounded) inner join operator keeping both inputs' rows (append mode is correct for an inner join of
-- insert-only streams), or a stream–table join against a table materialised from the person stream.
-- test/nexmark/windowed.test.ts checks that the refusal stays explicit.
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
