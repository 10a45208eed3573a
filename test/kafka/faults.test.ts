import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { BatchProgress } from '../../src/driver/progress.js';
import { runJob } from '../../src/driver/run-job.js';
import { describeKafka, kafkaClient, randomTopic, sharedMockCluster } from './mock-cluster.js';
import { jsonl, produce, query, tempDir } from './kafka-job.js';
import { writeFileSync } from 'node:fs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeKafka('kafka source: faults injected through the mock broker', () => {
  const mock = sharedMockCluster();

  it('retries through Fetch/ListOffsets/OffsetCommit errors and a broker outage; ends with exactly-once output and lag 0', async () => {
    const topic = randomTopic('faults');
    await mock.cluster.createTopic(topic, 2);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      topic,
      Array.from({ length: 1000 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: i }) })),
    );
    const dir = tempDir();
    const group = randomTopic('group');
    writeFileSync(
      join(dir, 'job.sql'),
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topic}', group_id = '${group}', schema = 'id INTEGER',
          read_timeout_ms = '8000', retry_backoff_ms = '300', max_records_per_partition = '100', connection_timeout_ms = '500',
          read_ahead = 'false');
       CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _partition AS p, _offset AS o FROM ev;`,
    );
    const controller = new AbortController();
    let outage: Promise<void> | undefined;
    const progress: BatchProgress[] = [];
    const notes: string[] = [];
    const job = runJob({
      jobFile: join(dir, 'job.sql'),
      checkpoint: join(dir, 'ck'),
      trigger: { kind: 'interval', ms: 50 },
      onBatch: (p) => (
        progress.push(p),
        process.env['DS_DEBUG'] && console.log(Date.now() % 100000, 'batch', p.batchId, p.numInputRows, JSON.stringify(p.durationMs))
      ),
      note: (m) => notes.push(m),
      signal: controller.signal,
      // The outage starts right after batch 3's ranges are logged, so that batch is read through it.
      afterStep: async (step, batchId) => {
        if (step !== 'offsetLogWritten' || batchId !== 3 || outage) return;
        await mock.cluster.brokerDown(-1);
        outage = sleep(2500).then(() => mock.cluster.brokerUp(-1));
      },
    });
    let failed: unknown;
    job.catch((err: unknown) => (failed = err));
    const until = async (what: string, cond: () => boolean, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (!cond()) {
        if (failed) throw failed;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; batches ${progress.length}; notes: ${notes.join(' | ')}`);
        await sleep(50);
      }
    };
    await until('the first batch', () => progress.length >= 1);
    await mock.cluster.pushErrors('Fetch', 2, 'REQUEST_TIMED_OUT');
    await mock.cluster.pushErrors('ListOffsets', 1, '_TRANSPORT');
    await mock.cluster.pushErrors('OffsetCommit', 2, 'COORDINATOR_NOT_AVAILABLE');
    const afterErrors = progress.length;
    await until('two batches after the injected errors', () => progress.length >= afterErrors + 2);
    await until('the outage', () => outage !== undefined);
    await outage;
    await produce(
      kafka,
      topic,
      Array.from({ length: 500 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: 1000 + i }) })),
    );
    const processed = () => progress.reduce((n, p) => n + p.numInputRows, 0);
    await until('all 1500 records', () => processed() >= 1500);
    // Let the last advisory commit land, then stop after the current batch.
    await sleep(300);
    controller.abort();
    await job;

    const rows = await query(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi,
        count(DISTINCT (p, o))::INTEGER AS po FROM ${jsonl(join(dir, 'out'))}`);
    expect(rows[0]).toEqual({ n: 1500, d: 1500, lo: 0, hi: 1499, po: 1500 });
    expect(processed()).toBe(1500);
    // Batch 3 was read through the 2.5 s outage (read-ahead is off here, so its own read meets the outage; the
    // outage under a fetch ahead is in read-ahead.test.ts): retried until the broker was back, then exactly its ranges.
    const b3 = progress.find((p) => p.batchId === 3)!;
    expect(b3.durationMs.read).toBeGreaterThan(1500);
    expect(b3.numInputRows).toBe(200);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      expect(committed[0]!.partitions.map((p) => p.offset).sort()).toEqual(['750', '750']);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);
});

describeKafka('kafka source: permanent errors', () => {
  const mock = sharedMockCluster();

  it('ends the job with a message naming the topic and partitions and the cause', async () => {
    const topic = randomTopic('denied');
    await mock.cluster.createTopic(topic, 2);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      topic,
      Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: i }) })),
    );
    const dir = tempDir();
    writeFileSync(
      join(dir, 'job.sql'),
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topic}', schema = 'id INTEGER', read_timeout_ms = '8000');
       CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id FROM ev;`,
    );
    await mock.cluster.pushErrors('Fetch', 100, 'TOPIC_AUTHORIZATION_FAILED');
    const started = Date.now();
    await expect(runJob({ jobFile: join(dir, 'job.sql'), checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' } })).rejects.toThrow(
      new RegExp(`kafka source 'ev': reading topic '${topic}' partitions 0,1 failed: .*(TOPIC_AUTHORIZATION_FAILED|[Nn]ot authorized)`),
    );
    expect(Date.now() - started).toBeLessThan(30_000); // not retried for long: the broker's answer is definite
    await mock.cluster.clearErrors();
  });
});
