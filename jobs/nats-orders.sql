-- Orders from a NATS JetStream stream, one partition per region subject, into Parquet; big orders published back
-- to NATS exactly once. Needs nats-server -js on 127.0.0.1:4222; create and feed the streams first:
--   node jobs/nats-orders-feed.mjs
--   npx duckstream run jobs/nats-orders.sql --trigger available-now
-- (docs/connectors/nats.md)

CREATE SOURCE orders WITH (
  connector = 'nats', servers = 'nats://127.0.0.1:4222', stream = 'orders',
  subjects = 'orders.eu, orders.us, orders.apac', durable_name = 'duckstream-orders',
  format = 'json', schema = 'ts TIMESTAMP, customer VARCHAR, amount BIGINT', event_time = 'ts',
  max_records_per_partition = '10000'
);

CREATE SINK all_orders WITH (connector = 'parquet', path = 'out/nats-orders/all') AS
SELECT ts, customer, amount, _subject AS subject, _offset AS seq, _headers->>'trace_id' AS trace FROM orders;

CREATE SINK big WITH (connector = 'nats', servers = 'nats://127.0.0.1:4222', subject = 'order_alerts.big') AS
SELECT customer, amount, ts FROM orders WHERE amount > 15000;
