import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeKafka, kafkaClient, randomTopic, sharedMockCluster } from './mock-cluster.js';
import { jsonl, produce, query, runKafkaJob, tempDir } from './kafka-job.js';

describeKafka('kafka source: decodes only the columns the job reads', () => {
  const mock = sharedMockCluster();

  it('golden rows from a column read only in WHERE, _headers kept, a defect in an unread column still dead-lettered', async () => {
    const topic = randomTopic('pruned');
    await mock.cluster.createTopic(topic, 2);
    const kafka = kafkaClient(mock.cluster);
    const msgs = Array.from({ length: 40 }, (_, i) => ({
      partition: i % 2,
      key: `k${i}`,
      value: JSON.stringify({ id: i, n: i % 5, big: i === 7 ? 12 : 'x'.repeat(200), name: `n${i}` }),
      headers: i % 10 === 0 ? { trace: `t${i}` } : undefined,
    }));
    await produce(kafka, topic, msgs);
    const dir = tempDir();
    const sql = `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.cluster.bootstrap.join(',')}', topic = '${topic}', schema = 'id BIGINT, n INTEGER, big VARCHAR, name VARCHAR', read_timeout_ms = '20000');
CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _headers->>'trace' AS trace FROM ev WHERE n = 0;`;
    await runKafkaJob(dir, sql);
    const rows = await query(`SELECT id::INTEGER AS id, trace FROM ${jsonl(join(dir, 'out'))} ORDER BY id`);
    expect(rows).toEqual([0, 5, 10, 15, 20, 25, 30, 35].map((id) => ({ id, trace: id % 10 === 0 ? `t${id}` : null })));
    const deadDir = join(dir, 'ev.dead_letter');
    const letters = readdirSync(deadDir)
      .flatMap((f) => readFileSync(join(deadDir, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as { offset: string; reason: string });
    expect(letters.map((l) => [String(l.offset), l.reason])).toEqual([['3', "field 'big': expected VARCHAR, got number 12"]]);
  });
});
