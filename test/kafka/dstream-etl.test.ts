import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { duckstream } from '../support/cli.js';
import { produce, query, parquet, tempDir } from './kafka-job.js';
import { describeKafka, kafkaClient, randomTopic, runKcat, sharedMockCluster } from './mock-cluster.js';

/** jobs/kafka-etl.ts (a DStream job) run by the CLI against the mock broker: Kafka → Parquet, and a metric back to Kafka. */
describeKafka('DStream example: jobs/kafka-etl.ts', () => {
  const mock = sharedMockCluster();

  it('cleans page views into Parquet and writes the error count to a Kafka topic', async () => {
    const [views, metrics] = [randomTopic('views'), randomTopic('metrics')];
    await mock.cluster.createTopic(views, 2);
    await mock.cluster.createTopic(metrics, 1);
    const kafka = kafkaClient(mock.cluster);
    const rows = Array.from({ length: 12 }, (_, i) => ({
      ts: `2026-01-01 00:00:${String(i).padStart(2, '0')}`,
      user_id: i % 3,
      url: `/P${i}`,
      status: i % 4 === 0 ? 503 : 200,
    }));
    await produce(kafka, views, [
      ...rows.map((r) => ({ value: JSON.stringify(r) })),
      { value: JSON.stringify({ ts: '2026-01-01 00:00:59', user_id: null, url: '/x', status: 200 }) },
    ]);
    const cwd = tempDir('ds-etl-');
    const env = { KAFKA_BROKERS: mock.cluster.bootstrap.join(','), KAFKA_TOPIC: views, KAFKA_METRICS_TOPIC: metrics, KAFKA_IDEMPOTENT: 'false' };
    const run = duckstream(['run', resolve('jobs/kafka-etl.ts'), '--trigger', 'once'], { cwd, env });
    expect(run.status, run.stderr).toBe(0);
    const out = await query(`SELECT user_id::INTEGER AS u, url, is_error FROM ${parquet(`${cwd}/out/pageviews_clean`)} ORDER BY ts`);
    expect(out).toEqual(rows.map((r) => ({ u: r.user_id, url: r.url.toLowerCase(), is_error: r.status >= 500 })));
    const metric = await runKcat(['-C', '-b', mock.cluster.bootstrap[0]!, '-t', metrics, '-e', '-o', 'beginning', '-f', '%s\n']);
    expect(
      metric
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([{ metric: 'errors', count: 3 }]);
  });
});
