import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { describeKafka, kafkaClient, randomTopic, sharedMockCluster } from './mock-cluster.js';
import { jsonl, produce, query, runKafkaJob, tempDir } from './kafka-job.js';

describeKafka('kafka source: exact ranges', () => {
  const mock = sharedMockCluster();

  it('reads every offset exactly once across capped batches and restarts, with metadata columns', async () => {
    const topic = randomTopic('exact');
    await mock.cluster.createTopic(topic, 3);
    const kafka = kafkaClient(mock.cluster);
    const base = Date.UTC(2026, 0, 1);
    const msgs = Array.from({ length: 300 }, (_, i) => ({
      partition: i % 3,
      key: `k${i}`,
      value: JSON.stringify({ id: i, name: `n${i}` }),
      timestamp: String(base + i),
      headers: i % 50 === 0 ? { trace: `t${i}`, tag: ['x', Buffer.from([0xff, 0x00])] } : undefined,
    }));
    await produce(kafka, topic, msgs.slice(0, 200));
    const dir = tempDir();
    const sql = `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.cluster.bootstrap.join(',')}', topic = '${topic}', max_records_per_partition = '30', read_timeout_ms = '20000');
CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, name, _topic AS t, _partition AS p, _offset AS o, epoch_ms(_timestamp) AS ts, _key AS k, _headers->>'trace' AS trace FROM ev;
CREATE SINK star WITH (connector = 'parquet', path = '${dir}/star') AS SELECT * FROM ev;`;
    const first = await runKafkaJob(dir, sql);
    // 200 records over 3 partitions (67, 67, 66), 30 per partition per batch → 3 batches.
    expect(first.batches).toBe(3);
    await produce(kafka, topic, msgs.slice(200));
    const second = await runKafkaJob(dir, sql);
    expect(second.batches).toBe(2); // 100, 100, 100 per partition: 10 more to 67+33=100 → batches of 30, 3
    const rows = await query(
      `SELECT id::INTEGER AS id, name, t, p::INTEGER AS p, o::INTEGER AS o, ts::DOUBLE AS ts, k, trace FROM ${jsonl(join(dir, 'out'))} ORDER BY id`,
    );
    expect(rows.length).toBe(300);
    for (const [i, r] of rows.entries()) {
      expect(r).toEqual({ id: i, name: `n${i}`, t: topic, p: i % 3, o: Math.floor(i / 3), ts: base + i, k: `k${i}`, trace: i % 50 === 0 ? `t${i}` : null });
    }
    // SELECT *: the shared metadata columns, the value columns, then _headers (as the bind check and checkpoint see it).
    const columns = await query(`DESCRIBE SELECT * FROM read_parquet('${dir}/star/*.parquet')`);
    expect(columns.map((c) => c['column_name'])).toEqual(['_topic', '_partition', '_offset', '_timestamp', '_key', 'id', 'name', '_headers']);
    const headers = await query(
      `SELECT _offset::INTEGER AS o, _partition::INTEGER AS p, _headers::VARCHAR AS h FROM read_parquet('${dir}/star/*.parquet') WHERE _headers IS NOT NULL ORDER BY id`,
    );
    expect(headers).toEqual(
      [0, 50, 100, 150, 200, 250].map((i) => ({ p: i % 3, o: Math.floor(i / 3), h: JSON.stringify({ trace: `t${i}`, tag: ['x', 'base64:/wA='] }) })),
    );
    const ranges = [...first.progress, ...second.progress].map((p) => p.sources[0]!.startOffset['0'] + '-' + p.sources[0]!.endOffset['0']);
    expect(ranges).toEqual(['0-30', '30-60', '60-67', '67-97', '97-100']);
  });
});

describeKafka('kafka source: groups, partitions, starting offsets, data loss', () => {
  const mock = sharedMockCluster();

  it('commits each batch to group_id (advisory): lag 0 per partition after the run, as the broker reports it', async () => {
    const topic = randomTopic('lag');
    await mock.cluster.createTopic(topic, 3);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      topic,
      Array.from({ length: 100 }, (_, i) => ({ partition: i % 3, value: JSON.stringify({ id: i }) })),
    );
    const group = randomTopic('group');
    const dir = tempDir();
    const run = await runKafkaJob(
      dir,
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topic}', group_id = '${group}', read_timeout_ms = '20000');
      CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _headers FROM ev;`,
      { maxRecordsPerPartition: 10 },
    );
    expect(run.batches).toBe(4);
    // Records without headers: _headers is NULL.
    expect(await query(`SELECT count(*)::INTEGER AS n, count(_headers)::INTEGER AS h FROM ${jsonl(join(dir, 'out'))}`)).toEqual([{ n: 100, h: 0 }]);
    expect(run.notes.filter((n) => /commit failed/.test(n))).toEqual([]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      const lag = ends.map((e) => Number(e.high) - Number(committed[0]!.partitions.find((p) => p.partition === e.partition)!.offset)).sort();
      expect(lag).toEqual([0, 0, 0]);
      expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
        [0, '34'],
        [1, '33'],
        [2, '33'],
      ]);
    } finally {
      await admin.disconnect();
    }
  });

  it('picks up topics that appear under topic_pattern, and starts where starting_offsets says', async () => {
    const prefix = randomTopic('pat');
    const a = `${prefix}-a`;
    await mock.cluster.createTopic(a, 2);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      a,
      Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: i }) })),
    );
    const dir = tempDir();
    // Partition 0 from offset 7, partition 1 from its end (-1): 3 records of a, then everything of b.
    const sql = `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic_pattern = '${prefix}-.*', read_timeout_ms = '20000',
        starting_offsets = '{"${a}":{"0":7,"1":-1}}', schema = 'id INTEGER');
      CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _topic AS t, _partition AS p, _offset AS o FROM ev;`;
    await runKafkaJob(dir, sql);
    const b = `${prefix}-b`;
    await mock.cluster.createTopic(b, 2);
    await produce(
      kafka,
      b,
      Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: 100 + i }) })),
    );
    await produce(kafka, a, [{ partition: 1, value: JSON.stringify({ id: 20 }) }]);
    await runKafkaJob(dir, sql);
    const rows = await query(`SELECT id::INTEGER AS id, t, p::INTEGER AS p, o::INTEGER AS o FROM ${jsonl(join(dir, 'out'))} ORDER BY id`);
    expect(rows).toEqual([
      { id: 14, t: a, p: 0, o: 7 },
      { id: 16, t: a, p: 0, o: 8 },
      { id: 18, t: a, p: 0, o: 9 },
      { id: 20, t: a, p: 1, o: 10 },
      ...[0, 1, 2, 3, 4, 5].map((i) => ({ id: 100 + i, t: b, p: i % 2, o: Math.floor(i / 2) })),
    ]);
  });

  it('fails a batch whose start was deleted (fail_on_data_loss), or skips the lost range and says so', async () => {
    const topic = randomTopic('loss');
    await mock.cluster.createTopic(topic, 1);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: JSON.stringify({ id: i }) })),
    );
    const dir = tempDir();
    const sql = (
      fail: boolean,
    ) => `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topic}', read_timeout_ms = '20000', schema = 'id INTEGER',
        fail_on_data_loss = '${fail}', max_records_per_partition = '5', retries = '1');
      CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _offset AS o FROM ev;`;
    const first = await runKafkaJob(dir, sql(true), { trigger: { kind: 'once' } });
    expect(first.batches).toBe(1);
    // The mock caps a partition log at 5 MiB: 7 MiB more pushes the log start past offset 5.
    const big = 'x'.repeat(100 * 1024);
    for (let i = 0; i < 70; i++) await produce(kafka, topic, [{ value: JSON.stringify({ id: 1000 + i, pad: big }) }]);
    const admin = kafka.admin();
    await admin.connect();
    const [bounds] = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const low = Number(bounds!.low);
    expect(low).toBeGreaterThan(5);
    // Batch 1 is planned as [10, 15) (max_records_per_partition = 5): its records are gone.
    await expect(runKafkaJob(dir, sql(true))).rejects.toThrow(
      new RegExp(
        `${topic} partition 0, range \\[10, 15\\): data loss: offsets \\[10, 15\\) were deleted \\(retention\\) before they were read; the log now starts at ${low}`,
      ),
    );
    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true));
    let skipped;
    try {
      skipped = await runKafkaJob(dir, sql(false));
    } finally {
      spy.mockRestore();
    }
    expect(stderr.join('')).toContain(`${topic} partition 0: offsets [10, 15) were lost (deleted before they were read)`);
    // …and the batch's progress record says which range was lost.
    expect(skipped.progress[0]!.sources[0]!.lostRanges).toEqual([{ topic, partition: 0, from: '10', until: '15' }]);
    const rows = await query(`SELECT id::INTEGER AS id, o::INTEGER AS o FROM ${jsonl(join(dir, 'out'))} ORDER BY o`);
    // 0..9 from the first run; then whatever the log still holds from its new start to its end (80).
    expect(rows.map((r) => r['o'])).toEqual([...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 80 - low }, (_, i) => low + i)]);
    expect(rows.slice(0, 10).map((r) => r['id'])).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});
