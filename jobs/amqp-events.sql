-- RabbitMQ stream queues (127.0.0.1:5672, guest/guest) into per-minute Parquet counts, exactly once.
-- The two stream queues are the source's partitions; create and feed them with, e.g.:
--   rabbitmqadmin declare queue name=events-0 durable=true arguments='{"x-queue-type":"stream"}'   (same for events-1)
--   rabbitmqadmin publish routing_key=events-0 payload='{"kind":"click","ts":"2026-12-07T12:00:00"}'
CREATE SOURCE events (kind VARCHAR, ts TIMESTAMP) WITH (
  connector = 'amqp', url = 'amqp://guest:guest@127.0.0.1:5672', queue = 'events-0,events-1', queue_type = 'stream',
  event_time = 'ts', watermark = '5 seconds', idle_timeout = '1 minute');

CREATE SINK per_minute WITH (connector = 'parquet', path = 'out/amqp-events') AS
SELECT window_start, kind, count(*) AS n
FROM TUMBLE(events, ts, INTERVAL '1 minute')
GROUP BY window_start, kind;
