import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../src/driver/run-job.js';
import { KafkaOffsets } from '../../src/connectors/kafka/offsets.js';
import { describeKafka, kafkaClient, randomTopic, runKcat, sharedMockCluster } from './mock-cluster.js';
import { produce, tempDir } from './kafka-job.js';

/** `batch_id id` per record of the topic, as kcat reads it (read_committed). */
async function written(bootstrap: string, topic: string): Promise<string[]> {
  const out = await runKcat(['-C', '-b', bootstrap, '-t', topic, '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '%h|%s\\n']);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => `${/duckstream.batch_id=(\d+)/.exec(l)![1]} ${JSON.parse(l.split('|')[1]!).id}`)
    .sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]) || a.localeCompare(b));
}

describeKafka('kafka sink: delivery', () => {
  const mock = sharedMockCluster();

  it('replays a batch after a crash between the sinks and the commit log: at-least-once, and transactional on the mock', async () => {
    const input = randomTopic('in');
    const plain = randomTopic('out-plain');
    const txn = randomTopic('out-txn');
    await mock.cluster.createTopic(input, 1);
    await mock.cluster.createTopic(plain, 2);
    await mock.cluster.createTopic(txn, 2);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      input,
      Array.from({ length: 30 }, (_, i) => ({ value: JSON.stringify({ id: i }) })),
    );
    const dir = tempDir();
    const txnId = randomTopic('txn');
    writeFileSync(
      join(dir, 'job.sql'),
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${input}', schema = 'id INTEGER', read_timeout_ms = '20000', max_records_per_partition = '10');
       CREATE SINK plain WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${plain}', idempotent = 'false') AS SELECT id FROM ev;
       CREATE SINK txn WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${txn}', transactional_id = '${txnId}') AS SELECT id FROM ev;`,
    );
    const run = (afterStep?: Parameters<typeof runJob>[0]['afterStep']) =>
      runJob({ jobFile: join(dir, 'job.sql'), checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' }, afterStep });
    await expect(
      run((step, batchId) => {
        if (step === 'sinksWritten' && batchId === 1) throw new Error('injected crash after the sinks wrote batch 1');
      }),
    ).rejects.toThrow(/injected crash/);
    await run();
    const byId = (a: string, b: string) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]) || a.localeCompare(b);
    const once = Array.from({ length: 30 }, (_, id) => `${Math.floor(id / 10)} ${id}`);
    const batch1Again = Array.from({ length: 10 }, (_, i) => `1 ${10 + i}`);
    // Every record at least once; the only duplicates are batch 1's, carrying the same batch id header.
    expect(await written(mock.bootstrap, plain)).toEqual([...once, ...batch1Again].sort(byId));
    // Transactional on a real broker: the batch marker committed with batch 1's transaction makes the replay a
    // no-op (records exactly once). The mock acknowledges TxnOffsetCommit but does not store it (docs/architecture.md#known-hazards), so
    // here the replay writes batch 1 again, as at-least-once does; the next test shows the skip itself.
    expect(await written(mock.bootstrap, txn)).toEqual([...once, ...batch1Again].sort(byId));
    const admin = kafka.admin();
    await admin.connect();
    const marker = await admin.fetchOffsets({ groupId: `${txnId}.batches`, topics: [txn] });
    await admin.disconnect();
    expect(marker[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('-1'); // not stored by the mock
  });

  it('transactional: skips a replayed batch that the batch marker says is already in Kafka', async () => {
    const input = randomTopic('in');
    const output = randomTopic('out');
    await mock.cluster.createTopic(input, 1);
    await mock.cluster.createTopic(output, 1);
    const kafka = kafkaClient(mock.cluster);
    await produce(
      kafka,
      input,
      Array.from({ length: 20 }, (_, i) => ({ value: JSON.stringify({ id: i }) })),
    );
    const dir = tempDir();
    const txnId = randomTopic('txn');
    writeFileSync(
      join(dir, 'job.sql'),
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${input}', schema = 'id INTEGER', read_timeout_ms = '20000', max_records_per_partition = '10');
       CREATE SINK out WITH (connector = 'kafka', brokers = '${mock.bootstrap}', topic = '${output}', transactional_id = '${txnId}') AS SELECT id FROM ev;`,
    );
    await expect(
      runJob({
        jobFile: join(dir, 'job.sql'),
        checkpoint: join(dir, 'ck'),
        trigger: { kind: 'available-now' },
        afterStep: (step, batchId) => {
          if (step === 'sinkWritten' && batchId === 1) throw new Error('injected crash');
        },
      }),
    ).rejects.toThrow(/injected crash/);
    // What a real broker stores with batch 1's transaction (sendOffsets), written here by a standalone commit.
    const offsets = new KafkaOffsets(kafka, 'marker', { topics: [output] }, {});
    await offsets.commitGroup(`${txnId}.batches`, [{ topic: output, partition: 0, from: 0n, until: 2n }]);
    await offsets.close();
    await runJob({ jobFile: join(dir, 'job.sql'), checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' } });
    const records = await written(mock.bootstrap, output);
    expect(records).toEqual(Array.from({ length: 20 }, (_, id) => `${Math.floor(id / 10)} ${id}`));
  });
});
