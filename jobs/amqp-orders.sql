-- A RabbitMQ classic (or quorum) queue into Parquet. The queue cannot replay, so every message is landed in an
-- embedded log under the checkpoint and basic.ack'ed only once that append is durable (docs/connectors/amqp.md);
-- a redelivery after a crash is dropped by its message_id. Publish with a message_id, e.g.:
--   rabbitmqadmin declare queue name=orders durable=true
--   rabbitmqadmin publish routing_key=orders properties='{"message_id":"o-1"}' payload='{"order_id":1,"amount":9.5}'
CREATE SOURCE orders (order_id BIGINT, amount DOUBLE) WITH (
  connector = 'amqp', url = 'amqp://guest:guest@127.0.0.1:5672', queue = 'orders', queue_type = 'classic');

CREATE SINK orders_out WITH (connector = 'parquet', path = 'out/amqp-orders') AS
SELECT order_id, amount, _key AS routing_key FROM orders;
