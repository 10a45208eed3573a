import { join } from 'node:path';
import { expect, it } from 'vitest';
import { partitionForKey } from '../../src/log/murmur2.js';
import { describeKafka, randomTopic, runKcat, sharedMockCluster } from './mock-cluster.js';
import { jsonl, query, runKafkaJob, tempDir } from './kafka-job.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const PER_PARTITION = 40;

/** kcat's view of a topic: one line per record, `partition offset timestamp key value`, sorted. */
async function kcatRecords(bootstrap: string, topic: string, extra: string[] = []): Promise<string[]> {
  const out = await runKcat(['-C', '-b', bootstrap, '-t', topic, '-e', '-q', '-f', '%p|%o|%T|%k|%s|%h\\n', ...extra]);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .sort();
}

describeKafka('kafka interop with kcat', () => {
  const mock = sharedMockCluster();

  it('reads records kcat wrote with every codec: values, keys, offsets, timestamps, partitions', async () => {
    const topics = CODECS.map((c) => randomTopic(`kcat-${c}`));
    for (const [i, codec] of CODECS.entries()) {
      await mock.cluster.createTopic(topics[i]!, 2);
      for (const p of [0, 1]) {
        const lines = Array.from({ length: PER_PARTITION }, (_, j) => `${codec}-${p}-${j}\t${JSON.stringify({ codec, p, j, text: `record ${j} `.repeat(5) })}`);
        await runKcat(['-P', '-b', mock.bootstrap, '-t', topics[i]!, '-p', String(p), '-z', codec, '-K', '\t'], { input: lines.join('\n') + '\n' });
      }
    }
    const dir = tempDir();
    // All five topics in one source (one consumer, one group join).
    const run = await runKafkaJob(
      dir,
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${topics.join(',')}', read_timeout_ms = '20000');
       CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS
       SELECT _topic AS t, _partition AS p, _offset AS o, epoch_ms(_timestamp) AS ts, _key AS k, codec, j, text FROM ev;`,
    );
    expect(run.batches).toBe(1);
    const rows = await query(`SELECT t, p::INTEGER AS p, o::BIGINT AS o, ts::BIGINT AS ts, k, codec, j::INTEGER AS j, text FROM ${jsonl(join(dir, 'out'))}`);
    expect(rows.length).toBe(CODECS.length * 2 * PER_PARTITION);
    for (const [i, codec] of CODECS.entries()) {
      const theirs = await kcatRecords(mock.bootstrap, topics[i]!);
      expect(theirs.length).toBe(2 * PER_PARTITION);
      const ours = rows
        .filter((r) => r['t'] === topics[i])
        .map((r) => `${r['p']}|${r['o']}|${r['ts']}|${r['k']}|${JSON.stringify({ codec: r['codec'], p: r['p'], j: r['j'], text: r['text'] })}|`)
        .sort();
      expect(ours).toEqual(theirs);
      expect(rows.filter((r) => r['t'] === topics[i] && r['codec'] !== codec)).toEqual([]);
    }
  });

  it("writes records kcat reads back: JSON values, keys on the Java client's partitions, batch id header, every codec", async () => {
    const input = randomTopic('sink-in');
    await mock.cluster.createTopic(input, 1);
    const lines = Array.from({ length: 60 }, (_, i) => `user${i % 13}\t${JSON.stringify({ id: i, user: `user${i % 13}`, amount: i * 1.5 })}`);
    await runKcat(['-P', '-b', mock.bootstrap, '-t', input, '-K', '\t'], { input: lines.join('\n') + '\n' });
    // librdkafka's murmur2_random partitioner is the Java client's default: the same keys must land on the same partitions.
    const reference = randomTopic('sink-ref');
    await mock.cluster.createTopic(reference, 5);
    await runKcat(['-P', '-b', mock.bootstrap, '-t', reference, '-K', '\t', '-X', 'partitioner=murmur2_random'], { input: lines.join('\n') + '\n' });
    const javaPartition = new Map((await kcatRecords(mock.bootstrap, reference)).map((l) => [l.split('|')[3]!, Number(l.split('|')[0])]));
    expect(javaPartition.size).toBe(13);

    // One job, one sink per codec (one reader group join for all of them).
    const outputs = CODECS.map((c) => randomTopic(`sink-out-${c}`));
    for (const t of outputs) await mock.cluster.createTopic(t, 5);
    const dir = tempDir();
    await runKafkaJob(
      dir,
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${input}', read_timeout_ms = '20000');
       ${CODECS.map(
         (
           codec,
           i,
         ) => `CREATE SINK out_${codec} WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${outputs[i]}', key_column = 'user', idempotent = 'false', compression = '${codec}') AS
         SELECT id, "user", amount FROM ev WHERE id % 2 = 0;`,
       ).join('\n')}`,
      { maxRecordsPerPartition: 20 },
    );
    for (const [i, codec] of CODECS.entries()) {
      const got = await kcatRecords(mock.bootstrap, outputs[i]!);
      expect(got.length).toBe(30);
      const byId = new Map(got.map((l) => [JSON.parse(l.split('|')[4]!).id as number, l.split('|')]));
      for (let id = 0; id < 60; id += 2) {
        const [p, , , key, value, headers] = byId.get(id)!;
        const user = `user${id % 13}`;
        expect(key).toBe(user);
        expect(JSON.parse(value!)).toEqual({ id, user, amount: id * 1.5 });
        expect(Number(p)).toBe(javaPartition.get(user));
        expect(Number(p)).toBe(partitionForKey(Buffer.from(user), 5));
        // Batches of 20 input records: ids 0..18 in batch 0, 20..38 in batch 1, 40..58 in batch 2.
        expect(headers).toBe(`duckstream.batch_id=${Math.floor(id / 20)},duckstream.sink=out_${codec}`);
      }
    }
  });
});
