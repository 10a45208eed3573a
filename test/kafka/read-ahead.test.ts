import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { BatchProgress } from '../../src/driver/progress.js';
import { runJob } from '../../src/driver/run-job.js';
import { createKafkaSource } from '../../src/connectors/kafka/factory.js';
import type { KafkaSource } from '../../src/connectors/kafka/kafka-source.js';
import { describeKafka, kafkaClient, randomTopic, sharedMockCluster } from './mock-cluster.js';
import { jsonl, produce, query, runKafkaJob, tempDir } from './kafka-job.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every dead letter a job wrote, as parsed lines in file order. */
function deadLetters(dir: string): unknown[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort();
  } catch {
    return [];
  }
  return files.flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as unknown),
  );
}

describeKafka('kafka source: read-ahead (the next batch fetched while this one is processed)', () => {
  const mock = sharedMockCluster();

  it('gives the same rows and dead letters with read_ahead on and off; every batch after the first is served from it', async () => {
    const topic = randomTopic('ahead');
    await mock.cluster.createTopic(topic, 3);
    const kafka = kafkaClient(mock.cluster);
    // 600 records over 3 partitions; every 97th is not JSON (a dead letter)
    const value = (i: number) => (i % 97 === 5 ? `not json ${i}` : JSON.stringify({ id: i, name: `n${i}` }));
    await produce(
      kafka,
      topic,
      Array.from({ length: 600 }, (_, i) => ({ partition: i % 3, value: value(i) })),
    );
    const runs: Record<string, { progress: BatchProgress[]; dir: string }> = {};
    for (const readAhead of ['true', 'false']) {
      const dir = tempDir();
      const run = await runKafkaJob(
        dir,
        `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topic}', schema = 'id INTEGER NOT NULL, name VARCHAR',
           max_records_per_partition = '40', read_timeout_ms = '20000', read_ahead = '${readAhead}', dead_letter_path = '${dir}/dead');
         CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, name, _partition AS p, _offset AS o FROM ev WHERE id % 2 = 0;`,
      );
      runs[readAhead] = { progress: run.progress, dir };
    }
    // golden: computed from what was produced, not from either run
    const expected = Array.from({ length: 600 }, (_, i) => i)
      .filter((i) => i % 97 !== 5 && i % 2 === 0)
      .map((i) => ({ id: i, name: `n${i}`, p: i % 3, o: Math.floor(i / 3) }));
    for (const { dir, progress } of Object.values(runs)) {
      const rows = await query(`SELECT id::INTEGER AS id, name, p::INTEGER AS p, o::INTEGER AS o FROM ${jsonl(join(dir, 'out'))} ORDER BY id`);
      expect(rows).toEqual(expected);
      expect(progress.length).toBe(5); // 200 per partition, 40 per batch
      expect(progress.map((p) => p.numInputRows)).toEqual([120, 120, 120, 120, 120]);
    }
    const on = runs['true']!;
    const off = runs['false']!;
    expect(on.progress.map((p) => p.sources[0]!.prefetch ?? null)).toEqual([null, 'used', 'used', 'used', 'used']);
    expect(off.progress.map((p) => p.sources[0]!.prefetch ?? null)).toEqual([null, null, null, null, null]);
    // the same offsets per batch, and the same dead letters (reason, partition, offset, value) in the same order
    expect(on.progress.map((p) => p.sources[0]!.endOffset)).toEqual(off.progress.map((p) => p.sources[0]!.endOffset));
    const deadOn = deadLetters(join(on.dir, 'dead'));
    const bad = Array.from({ length: 600 }, (_, i) => i).filter((i) => i % 97 === 5);
    expect(deadOn.map((d) => (d as { value: string }).value).sort()).toEqual(bad.map((i) => `not json ${i}`).sort());
    // the same batch ids, partitions, offsets, timestamps and reasons, in the same order
    expect(deadOn).toEqual(deadLetters(join(off.dir, 'dead')));
  });

  it('reads exactly the asked ranges when they differ from the ones fetched ahead, backs off, and closes at once with a fetch in flight', async () => {
    const topic = randomTopic('ahead-other');
    await mock.cluster.createTopic(topic, 2);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      topic,
      Array.from({ length: 100 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: i }) })),
    );
    const source = (await createKafkaSource({
      name: 'ev',
      options: { connector: 'kafka', brokers: mock.bootstrap, topic, schema: 'id INTEGER', read_timeout_ms: '20000' },
      columns: undefined,
      line: 1,
    })) as KafkaSource;
    const range = (partition: number, from: bigint, until: bigint) => ({ topic, partition, from, until });
    const ids = async (ranges: ReturnType<typeof range>[]) => {
      const batch = await source.read(ranges);
      return { ids: batch.table.getChild('id')!.toArray() as Int32Array, prefetch: batch.prefetch };
    };
    try {
      source.prefetch([range(0, 0n, 10n), range(1, 0n, 10n)]);
      const other = await ids([range(0, 10n, 15n), range(1, 20n, 22n)]);
      expect([...other.ids]).toEqual([20, 22, 24, 26, 28, 41, 43]);
      expect(other.prefetch).toBe('discarded');
      // after a fetch for nothing, the next chance is let go (a fetch ahead also makes the next read wait for it)
      source.prefetch([range(0, 15n, 20n)]);
      const skipped = await ids([range(0, 15n, 20n)]);
      expect([...skipped.ids]).toEqual([30, 32, 34, 36, 38]);
      expect(skipped.prefetch).toBeUndefined();
      source.prefetch([range(0, 15n, 20n), range(1, 0n, 0n)]);
      const same = await ids([range(0, 15n, 20n), range(1, 0n, 0n)]);
      expect([...same.ids]).toEqual([30, 32, 34, 36, 38]);
      expect(same.prefetch).toBe('used');
      // a range past the end is not fetched ahead; the read finds the gap itself (data loss, reported by the read)
      source.prefetch([range(0, 45n, 60n)]);
      await expect(source.read([range(0, 45n, 60n)])).rejects.toThrow(/data loss: the partition ends at 50/);
      expect(source.prefetchCounts).toEqual({ started: 3, used: 1, discarded: 2 });
    } finally {
      source.prefetch([range(0, 0n, 50n), range(1, 0n, 50n)]);
      const t0 = Date.now();
      await source.close();
      // not the 20 s read timeout: close cuts the fetch ahead short (or it had finished)
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
  });

  it('a broker outage while the next batch is fetched ahead: exactly-once output, every batch read', async () => {
    const topic = randomTopic('ahead-outage');
    await mock.cluster.createTopic(topic, 2);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      topic,
      Array.from({ length: 400 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: i }) })),
    );
    const dir = tempDir();
    writeFileSync(
      join(dir, 'job.sql'),
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topic}', schema = 'id INTEGER',
          read_timeout_ms = '8000', retry_backoff_ms = '300', max_records_per_partition = '50', connection_timeout_ms = '500');
       CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _partition AS p, _offset AS o FROM ev;`,
    );
    const progress: BatchProgress[] = [];
    let outage: Promise<void> | undefined;
    await runJob({
      jobFile: join(dir, 'job.sql'),
      checkpoint: join(dir, 'ck'),
      trigger: { kind: 'available-now' },
      onBatch: (p) => progress.push(p),
      note: () => undefined,
      // 'read' comes right after batch 1 started fetching batch 2 ahead: the broker goes away under that fetch
      afterStep: async (step, batchId) => {
        if (step !== 'read' || batchId !== 1 || outage) return;
        await mock.cluster.brokerDown(-1);
        outage = sleep(2500).then(() => mock.cluster.brokerUp(-1));
      },
    });
    await outage;
    expect(outage).toBeDefined();
    const rows = await query(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi,
        count(DISTINCT (p, o))::INTEGER AS po, bool_and(o = id // 2 AND p = id % 2) AS placed FROM ${jsonl(join(dir, 'out'))}`);
    expect(rows[0]).toEqual({ n: 400, d: 400, lo: 0, hi: 399, po: 400, placed: true });
    expect(progress.map((p) => p.numInputRows)).toEqual([100, 100, 100, 100]);
    // batch 2 came from the fetch ahead (it got through once the broker was back) or was read again by itself
    expect(['used', 'discarded']).toContain(progress[2]!.sources[0]!.prefetch);
  });
});
