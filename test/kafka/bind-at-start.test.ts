import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DuckstreamError } from '../../src/errors.js';
import { describeKafka, kafkaClient, randomTopic, sharedMockCluster } from './mock-cluster.js';
import { parquet, produce, query, runKafkaJob, tempDir } from './kafka-job.js';

describeKafka('kafka source with an inferred schema: queries bound before the first batch is logged', () => {
  const mock = sharedMockCluster();

  it('a misspelt column in a windowed sink is a user error with no offset entry; the fixed job runs', async () => {
    const topic = randomTopic('bind');
    await mock.cluster.createTopic(topic, 2);
    const base = Date.UTC(2026, 0, 1);
    const msgs = Array.from({ length: 40 }, (_, i) => ({
      partition: i % 2,
      value: JSON.stringify({ user: `u${i % 4}`, n: i, ts: new Date(base + i * 1000).toISOString() }),
    }));
    await produce(kafkaClient(mock.cluster), topic, msgs);
    const dir = tempDir();
    const ck = join(dir, 'ck');
    const offsets = () => (existsSync(join(ck, 'offsets')) ? readdirSync(join(ck, 'offsets')) : []);
    const job = (windowCol: string) =>
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.cluster.bootstrap.join(',')}', topic = '${topic}', event_time = 'ts', read_timeout_ms = '20000');
CREATE SINK plain WITH (connector = 'parquet', path = '${dir}/plain') AS SELECT user, n FROM ev;
CREATE SINK windows WITH (connector = 'parquet', path = '${dir}/windows') AS
  SELECT window_start, count(*) AS c, sum(${windowCol}) AS total FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start;`;
    const columns = "source 'ev' has columns _topic, _partition, _offset, _timestamp, _key, user, n, ts, _headers";

    // One refused run only (each Kafka run costs ~3 s of connecting): the stateless sink's refusal is the same code,
    // tested over the embedded log in test/driver/bind-at-start.test.ts.
    const windowed = await runKafkaJob(dir, job('nn')).catch((e: unknown) => e);
    expect(windowed).toBeInstanceOf(DuckstreamError);
    expect((windowed as DuckstreamError).domain).toBe('user');
    expect((windowed as DuckstreamError).message).toMatch(/job\.sql:3: sink 'windows': .*"nn"/);
    expect((windowed as DuckstreamError).fix).toBe(`did you mean "n"? fix the query; ${columns}`);
    expect(offsets()).toEqual([]);

    const run = await runKafkaJob(dir, job('n'));
    expect(run.batches).toBeGreaterThan(0);
    const plain = await query(`SELECT user, n::INTEGER AS n FROM ${parquet(join(dir, 'plain'))} ORDER BY n`);
    expect(plain).toEqual(msgs.map((_, i) => ({ user: `u${i % 4}`, n: i })));
    // Without a drain only the windows behind the watermark (max ts 39 s) are emitted: [0,10), [10,20), [20,30).
    const windows = await query(
      `SELECT epoch_ms(window_start)::BIGINT AS w, c::INTEGER AS c, total::INTEGER AS total FROM ${parquet(join(dir, 'windows'))} ORDER BY w`,
    );
    expect(windows).toEqual(
      [0, 1, 2].map((k) => ({ w: String(base + k * 10_000), c: 10, total: Array.from({ length: 10 }, (_, j) => k * 10 + j).reduce((a, b) => a + b, 0) })),
    );
  });
});
