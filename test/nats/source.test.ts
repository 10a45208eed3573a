import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSource } from '../../src/connectors/registry.js';
import type { Source } from '../../src/source/source.js';
import { parquet, query, runKafkaJob as runJob, tempDir } from '../kafka/kafka-job.js';
import { describeNats, NATS_URL, natsClient, randomName, type NatsTestClient } from './nats-harness.js';

describeNats('nats source: exact sequence ranges', () => {
  let client: NatsTestClient;
  beforeEach(async () => {
    client = await natsClient();
  });
  afterEach(async () => {
    await client.cleanup();
  });

  it('reads subject partitions exactly once across capped batches and restarts, gaps included, into Parquet with metadata columns', async () => {
    const stream = randomName('exact');
    await client.stream(stream);
    const subjects = ['a', 'b', 'c'];
    const published = (from: number, n: number) =>
      Array.from({ length: n }, (_, k) => {
        const id = from + k;
        return {
          id,
          subject: `${stream}.${subjects[id % 3]}`,
          data: JSON.stringify({ id, name: `n${id}` }),
          ...(id % 10 === 0 && { headers: { trace: `t${id}` } }),
        };
      });
    const first = published(0, 60);
    const seqs = await client.publish(first);
    // gaps: deleted messages of the partitions read, and subject c between them
    const deleted = new Set([4, 7, 20]);
    for (const id of deleted) await client.jsm.streams.deleteMessage(stream, seqs[id]!);
    const dir = tempDir('ds-nats-');
    const sql = `CREATE SOURCE ev WITH (connector = 'nats', servers = '${NATS_URL}', stream = '${stream}', subjects = '${stream}.a, ${stream}.b', max_records_per_partition = '20');
CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT id, name, _topic AS t, _subject AS s, _partition AS p, _offset AS o, epoch_ms(_timestamp) AS ts, _key AS k, _headers->>'trace' AS trace FROM ev;
CREATE SINK star WITH (connector = 'parquet', path = '${dir}/star') AS SELECT * FROM ev;`;
    const run1 = await runJob(dir, sql);
    // sequences 1..60, 20 per batch per partition: [1,21) [21,41) [41,61)
    expect(run1.batches).toBe(3);
    const second = published(60, 30);
    seqs.push(...(await client.publish(second)));
    const run2 = await runJob(dir, sql);
    expect(run2.batches).toBe(2); // [61,81) [81,91)
    const rows = await query(`SELECT id::INTEGER AS id, name, t, s, p::INTEGER AS p, o::INTEGER AS o, k, trace FROM ${parquet(join(dir, 'out'))} ORDER BY id`);
    const expected = [...first, ...second]
      .filter((m) => m.id % 3 !== 2 && !deleted.has(m.id))
      .map((m) => ({
        id: m.id,
        name: `n${m.id}`,
        t: stream,
        s: m.subject,
        p: m.id % 3,
        o: seqs[m.id],
        k: m.subject,
        trace: m.id % 10 === 0 ? `t${m.id}` : null,
      }));
    expect(rows).toEqual(expected);
    const columns = await query(`DESCRIBE SELECT * FROM ${parquet(join(dir, 'star'))}`);
    expect(columns.map((c) => c['column_name'])).toEqual(['_topic', '_partition', '_offset', '_timestamp', '_key', 'id', 'name', '_subject', '_headers']);
    const ranges = [...run1.progress, ...run2.progress].map((p) => `${p.sources[0]!.startOffset['0']}-${p.sources[0]!.endOffset['0']}`);
    expect(ranges).toEqual(['1-21', '21-41', '41-61', '61-81', '81-91']);
  }, 30_000);

  it('returns the same messages for the same ranges on every read, whatever was published or deleted after them', async () => {
    const stream = randomName('replay');
    await client.stream(stream);
    const seqs = await client.publish(Array.from({ length: 40 }, (_, i) => ({ subject: `${stream}.${i % 2 ? 'x' : 'y'}`, data: JSON.stringify({ i }) })));
    await client.jsm.streams.deleteMessage(stream, seqs[10]!);
    const source = await openSource(stream, { subjects: `${stream}.x,${stream}.y`, schema: 'i INTEGER' });
    try {
      const latest = await source.latestOffsets();
      expect([...latest.values()]).toEqual([41n, 41n]);
      const ranges = [
        { topic: stream, partition: 0, from: 5n, until: 30n },
        { topic: stream, partition: 1, from: 1n, until: 12n },
      ];
      const read = async () => (await source.read(ranges)).table.toArray().map((r) => [Number(r['_partition']), Number(r['_offset']), Number(r['i'])]);
      const once = await read();
      // x = odd i at seq i+1; y = even i; i = 10 (seq 11) deleted
      const want = [
        ...Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 2 === 1 && i + 1 >= 5 && i + 1 < 30),
        ...Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 2 === 0 && i + 1 < 12 && i !== 10),
      ];
      expect(once).toEqual(want.map((i) => [i % 2 ? 0 : 1, seqs[i], i]));
      await client.publish([{ subject: `${stream}.x`, data: '{"i":99}' }]);
      await client.jsm.streams.deleteMessage(stream, seqs[35]!);
      expect(await read()).toEqual(once);
    } finally {
      await source.close();
    }
  });

  it('reports data loss after a purge: fails by default, skips and reports the lost range with fail_on_data_loss = false', async () => {
    const stream = randomName('loss');
    await client.stream(stream);
    await client.publish(Array.from({ length: 10 }, (_, i) => ({ subject: `${stream}.e`, data: JSON.stringify({ id: i }) })));
    const dir = tempDir('ds-nats-loss-');
    const job = (fail: boolean, ck: string) =>
      `CREATE SOURCE ev WITH (connector = 'nats', servers = '${NATS_URL}', stream = '${stream}', schema = 'id INTEGER', fail_on_data_loss = '${fail}', retries = '0');
CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out-${ck}') AS SELECT id, _offset AS o FROM ev;`;
    await runJob(dir, job(true, 'a'), { checkpoint: join(dir, 'ck-a') });
    // the same job state twice: one run to fail, one to skip (the option is no part of the checkpoint's identity)
    cpSync(join(dir, 'ck-a'), join(dir, 'ck-b'), { recursive: true });
    cpSync(join(dir, 'out-a'), join(dir, 'out-b'), { recursive: true });
    // 10 more, then a purge that keeps only the last 5 (sequences 16..20): 11..15 were never read
    await client.publish(Array.from({ length: 10 }, (_, i) => ({ subject: `${stream}.e`, data: JSON.stringify({ id: 10 + i }) })));
    await client.jsm.streams.purge(stream, { keep: 5 });
    await expect(runJob(dir, job(true, 'a'), { checkpoint: join(dir, 'ck-a') })).rejects.toThrow(/data loss: sequences \[11, 16\) were deleted/);
    const skipped = await runJob(dir, job(false, 'b'), { checkpoint: join(dir, 'ck-b') });
    expect(skipped.progress.flatMap((p) => p.sources.flatMap((s) => s.lostRanges ?? []))).toEqual([{ topic: stream, partition: 0, from: '11', until: '16' }]);
    const rows = await query(`SELECT id::INTEGER AS id, o::INTEGER AS o FROM ${parquet(join(dir, 'out-b'))} ORDER BY id`);
    expect(rows).toEqual([...Array.from({ length: 10 }, (_, i) => i), 15, 16, 17, 18, 19].map((id) => ({ id, o: id + 1 })));
  }, 30_000);

  it('commits each batch to a durable consumer (advisory): its unprocessed count is the lag', async () => {
    const stream = randomName('lag');
    await client.stream(stream);
    await client.publish(Array.from({ length: 30 }, (_, i) => ({ subject: `${stream}.${i % 2}`, data: JSON.stringify({ id: i }) })));
    const dir = tempDir('ds-nats-lag-');
    const sql = `CREATE SOURCE ev WITH (connector = 'nats', servers = '${NATS_URL}', stream = '${stream}', subjects = '${stream}.0,${stream}.1', durable_name = 'job', schema = 'id INTEGER', max_records_per_partition = '10');
CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT id FROM ev;`;
    await runJob(dir, sql);
    const pending = async () => Promise.all([0, 1].map(async (p) => (await client.jsm.consumers.info(stream, `job-${p}`)).num_pending));
    expect(await pending()).toEqual([0, 0]);
    await client.publish(Array.from({ length: 7 }, (_, i) => ({ subject: `${stream}.${i % 2}`, data: JSON.stringify({ id: 30 + i }) })));
    expect(await pending()).toEqual([4, 3]);
  }, 30_000);

  it('refuses a stream that does not exist, and bad subject filters, with how to fix them', async () => {
    await expect(openSource(randomName('missing'), {})).rejects.toThrow(/stream '.*' does not exist.*nats stream add/s);
    await expect(openSource('s', { subjects: 'a.>.b' })).rejects.toThrow(/'a\.>\.b' is not a subject filter/);
  });
});

async function openSource(stream: string, options: Record<string, string>): Promise<Source> {
  const source = await createSource({
    name: 'ev',
    options: { connector: 'nats', servers: NATS_URL, stream, retries: '0', ...options },
    columns: undefined,
    line: 1,
  });
  try {
    await source.latestOffsets();
  } catch (err) {
    await source.close();
    throw err;
  }
  return source;
}
