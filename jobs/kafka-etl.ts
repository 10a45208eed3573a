// Kafka → Parquet ETL: parse, clean and enrich page views from a Kafka topic into exactly-once Parquet files
// (one per batch), plus a per-batch error count back to Kafka.
//   KAFKA_BROKERS=localhost:9092 npx duckstream run jobs/kafka-etl.ts --trigger 5s
// (KAFKA_IDEMPOTENT=false for brokers that cannot give idempotent producers an id, such as the test suite's mock.)
import { StreamingContext, sql } from 'duckstream';

export default function job(ssc: StreamingContext): void {
  const brokers = process.env['KAFKA_BROKERS'] ?? 'localhost:9092';
  const views = ssc.kafkaStream({
    brokers,
    topic: process.env['KAFKA_TOPIC'] ?? 'pageviews',
    format: 'json',
    schema: 'ts TIMESTAMP, user_id BIGINT, url VARCHAR, status INTEGER',
    options: { starting_offsets: 'earliest' },
  });
  const clean = views
    .filter(sql`url IS NOT NULL AND user_id IS NOT NULL`)
    .map(sql`ts, user_id, lower(url) AS url, status, status >= 500 AS is_error, date_trunc('minute', ts) AS minute`);
  clean.saveAsParquet('out/pageviews_clean');
  clean
    .filter(sql`is_error`)
    .count()
    .map(sql`'errors' AS metric, count`)
    .saveToKafka({
      brokers,
      topic: process.env['KAFKA_METRICS_TOPIC'] ?? 'pageview-metrics',
      format: 'json',
      idempotent: process.env['KAFKA_IDEMPOTENT'] ?? 'true',
    });
}
