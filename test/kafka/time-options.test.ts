import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeKafka, kafkaClient, randomTopic, sharedMockCluster } from './mock-cluster.js';
import { jsonl, produce, query, runKafkaJob, tempDir } from './kafka-job.js';

// Issue 15 item 4: idle_timeout and late_data_path work on Kafka sources as on the log source.
describeKafka('kafka source: idle_timeout and late_data_path', () => {
  const mock = sharedMockCluster();

  it('late rows go to late_data_path; an idle topic lets the watermark move with processing time, closing the last window', async () => {
    const topic = randomTopic('time');
    await mock.cluster.createTopic(topic, 1);
    const kafka = kafkaClient(mock.cluster);
    const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const ev = (sec: number, usr: string) => ({ partition: 0, value: JSON.stringify({ ts: new Date(T0 + sec * 1000).toISOString(), usr }) });
    const dir = tempDir();
    const sql = `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topic}', read_timeout_ms = '20000',
        schema = 'ts TIMESTAMP, usr VARCHAR', event_time = 'ts', watermark = '5 seconds', idle_timeout = '1 second', late_data_path = '${dir}/late');
      CREATE SINK w WITH (connector = 'jsonl', path = '${dir}/w') AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start;`;
    await produce(kafka, topic, [ev(1, 'a'), ev(2, 'b'), ev(20, 'c')]);
    const first = await runKafkaJob(dir, sql);
    await produce(kafka, topic, [ev(3, 'late-one')]); // behind the watermark T0+15 s
    const second = await runKafkaJob(dir, sql);
    // Runs may end with a no-data batch that only moved the idle watermark (when a run took over idle_timeout).
    const withData = [...first.progress, ...second.progress].filter((p) => p.numInputRows > 0);
    expect(withData.map((p) => [p.numInputRows, p.numRowsDroppedByWatermark])).toEqual([
      [3, 0],
      [1, 1],
    ]);
    const late = readdirSync(join(dir, 'late')).filter((f) => f.endsWith('.jsonl'));
    expect(late).toHaveLength(1);
    expect(readFileSync(join(dir, 'late', late[0]!), 'utf8')).toMatch(/"usr":"late-one"/);
    // No record after T0+20 s, so only idleness can move the watermark past window [20, 30): a run without new
    // records, after idle_timeout, closes it (without idle_timeout it would stay open, as Spark's would).
    await new Promise((r) => setTimeout(r, 1100));
    const third = await runKafkaJob(dir, sql);
    expect(third.progress.map((p) => p.numInputRows)).toEqual([0]);
    const windows = await query(`SELECT window_start::VARCHAR AS w, n::INTEGER AS n FROM ${jsonl(join(dir, 'w'))} ORDER BY w`);
    expect(windows).toEqual([
      { w: '2026-01-01 12:00:00', n: 2 },
      { w: '2026-01-01 12:00:20', n: 1 },
    ]);
  });
});
