import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { duckstream, killRepeatedly } from '../support/cli.js';
import { describeKafka, kafkaClient, randomTopic, sharedMockCluster } from './mock-cluster.js';
import { parquet, produce, query, tempDir } from './kafka-job.js';

const RECORDS = 12_000;

describeKafka('SIGKILL of a job reading Kafka into Parquet', () => {
  const mock = sharedMockCluster();

  it('ends with exactly-once Parquet output after restarts', async () => {
    const topic = randomTopic('kill');
    await mock.cluster.createTopic(topic, 3);
    const kafka = kafkaClient(mock.cluster);
    const rand = prng(5);
    await produce(
      kafka,
      topic,
      Array.from({ length: RECORDS }, (_, i) => ({ partition: i % 3, key: `u${i % 97}`, value: JSON.stringify({ id: i, status: rand() < 0.2 ? 500 : 200 }) })),
    );
    const dir = tempDir('ds-kafka-kill-');
    writeFileSync(
      join(dir, 'job.sql'),
      `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${mock.cluster.bootstrap.join(',')}', topic = '${topic}', schema = 'id BIGINT, status INTEGER', read_timeout_ms = '20000');
       CREATE SINK all_ids WITH (connector = 'parquet', path = '${dir}/out/ids') AS SELECT id, _partition AS p, _offset AS o, _key AS k FROM ev;
       CREATE SINK errors WITH (connector = 'parquet', path = '${dir}/out/errors') AS SELECT id FROM ev WHERE status >= 500;`,
    );
    const progressFile = join(dir, 'ck', 'progress.ndjson');
    const args = ['run', join(dir, 'job.sql'), '--checkpoint', join(dir, 'ck'), '--trigger', '20ms', '--max-records-per-partition', '150'];
    const log = await killRepeatedly(args, join(dir, 'ck'), { rounds: 3, rand, maxDelayMs: 100 });
    // The kills came before the end: fewer distinct batches than the 27 of 450 records (a re-run batch after a kill
    // appends a second progress line with the same id, so lines are not batches).
    const batchIds = new Set(
      readFileSync(progressFile, 'utf8')
        .split('\n')
        .filter((l) => l.endsWith('}'))
        .map((l) => (JSON.parse(l) as { batchId: number }).batchId),
    );
    expect(batchIds.size, log).toBeLessThan(27);
    const finish = duckstream(['run', join(dir, 'job.sql'), '--checkpoint', join(dir, 'ck'), '--trigger', 'available-now']);
    expect(finish.status, `${log}\nfinish: ${finish.stderr}`).toBe(0);

    const ids = await query(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi,
        count(*) FILTER (WHERE o::BIGINT * 3 + p = id AND k = 'u' || (id % 97))::INTEGER AS placed FROM ${parquet(join(dir, 'out/ids'))}`);
    expect(ids[0], log).toEqual({ n: RECORDS, d: RECORDS, lo: 0, hi: RECORDS - 1, placed: RECORDS });
    const rand2 = prng(5);
    const expectedErrors = Array.from({ length: RECORDS }, (_, i) => (rand2() < 0.2 ? i : -1)).filter((i) => i >= 0);
    const errors = await query(`SELECT id::INTEGER AS id FROM ${parquet(join(dir, 'out/errors'))} ORDER BY id`);
    expect(errors.map((r) => r['id'])).toEqual(expectedErrors);
  }, 120_000);
});
