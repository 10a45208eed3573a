import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKafka, kafkaClient, randomTopic, startMockCluster, type MockCluster } from './mock-cluster.js';
import { jsonl, produce, query, runKafkaJob, tempDir } from './kafka-job.js';

describeKafka('kafka source: exact ranges', () => {
  let cluster: MockCluster;
  beforeAll(async () => {
    cluster = await startMockCluster({ brokers: 1 });
  });
  afterAll(() => cluster?.stop());

  it('reads every offset exactly once across capped batches and restarts, with metadata columns', async () => {
    const topic = randomTopic('exact');
    await cluster.createTopic(topic, 3);
    const kafka = kafkaClient(cluster);
    const base = Date.UTC(2026, 0, 1);
    const msgs = Array.from({ length: 300 }, (_, i) => ({
      partition: i % 3,
      key: `k${i}`,
      value: JSON.stringify({ id: i, name: `n${i}` }),
      timestamp: String(base + i),
      headers: i % 50 === 0 ? { trace: `t${i}` } : undefined,
    }));
    await produce(kafka, topic, msgs.slice(0, 200));
    const dir = tempDir();
    const sql = `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${cluster.bootstrap.join(',')}', topic = '${topic}', max_records_per_partition = '30', read_timeout_ms = '20000');
CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, name, _topic AS t, _partition AS p, _offset AS o, epoch_ms(_timestamp) AS ts, _key AS k, _headers->>'trace' AS trace FROM ev;`;
    const first = await runKafkaJob(dir, sql);
    // 200 records over 3 partitions (67, 67, 66), 30 per partition per batch → 3 batches.
    expect(first.batches).toBe(3);
    await produce(kafka, topic, msgs.slice(200));
    const second = await runKafkaJob(dir, sql);
    expect(second.batches).toBe(2); // 100, 100, 100 per partition: 10 more to 67+33=100 → batches of 30, 3
    const rows = await query(`SELECT id::INTEGER AS id, name, t, p::INTEGER AS p, o::INTEGER AS o, ts::DOUBLE AS ts, k, trace FROM ${jsonl(join(dir, 'out'))} ORDER BY id`);
    expect(rows.length).toBe(300);
    for (const [i, r] of rows.entries()) {
      expect(r).toEqual({ id: i, name: `n${i}`, t: topic, p: i % 3, o: Math.floor(i / 3), ts: base + i, k: `k${i}`, trace: i % 50 === 0 ? `t${i}` : null });
    }
    const ranges = [...first.progress, ...second.progress].map((p) => p.sources[0]!.startOffset['0'] + '-' + p.sources[0]!.endOffset['0']);
    expect(ranges).toEqual(['0-30', '30-60', '60-67', '67-97', '97-100']);
  });
});
