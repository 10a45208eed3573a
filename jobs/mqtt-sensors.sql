-- MQTT sensor readings (Mosquitto on 127.0.0.1:1883) into per-minute Parquet stats, exactly once.
-- Messages are landed under the checkpoint before their PUBACK (docs/connectors/mqtt.md); feed it with:
--   echo '{"sensor":"s1","value":21.5,"ts":"2026-12-07T12:00:00"}' | mosquitto_pub -h 127.0.0.1 -t sensors/kitchen -q 1 -l
CREATE SOURCE readings (sensor VARCHAR, value DOUBLE, ts TIMESTAMP) WITH (
  connector = 'mqtt', url = 'mqtt://127.0.0.1:1883', topic = 'sensors/#', qos = '1',
  client_id = 'duckstream-sensor-stats', event_time = 'ts', watermark = '5 seconds');

CREATE SINK stats WITH (connector = 'parquet', path = 'out/sensor-stats') AS
SELECT window_start, window_end, sensor, count(*) AS n, avg(value) AS avg_value
FROM TUMBLE(readings, ts, INTERVAL '1 minute')
GROUP BY window_start, window_end, sensor;
