import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSink } from '../../src/connectors/registry.js';
import { Engine } from '../../src/sql/engine.js';
import { runKafkaJob as runJob, tempDir } from '../kafka/kafka-job.js';
import { describeNats, NATS_URL, natsClient, randomName, readStream, type NatsTestClient } from './nats-harness.js';

describeNats('nats sink: every row once, with a message id and the batch in headers', () => {
  let client: NatsTestClient;
  beforeEach(async () => {
    client = await natsClient();
  });
  afterEach(async () => {
    await client.cleanup();
  });

  it('publishes a job’s rows from a NATS source, each with Nats-Msg-Id <job>/<batch>/<row>, awaiting the acks', async () => {
    const input = randomName('in');
    const output = randomName('out');
    await client.stream(input);
    await client.stream(output);
    await client.publish(Array.from({ length: 50 }, (_, i) => ({ subject: `${input}.e`, data: JSON.stringify({ id: i, v: `v${i}` }) })));
    const dir = tempDir('ds-nats-sink-');
    const sql = `CREATE SOURCE ev WITH (connector = 'nats', servers = '${NATS_URL}', stream = '${input}', schema = 'id INTEGER, v VARCHAR', max_records_per_partition = '20');
CREATE SINK out WITH (connector = 'nats', servers = '${NATS_URL}', subject = '${output}.rows', job_id = 'j1') AS SELECT id, v, _offset AS o FROM ev WHERE id % 5 <> 0;`;
    const run = await runJob(dir, sql);
    expect(run.batches).toBe(3);
    const got = await readStream(client, output);
    const expected = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 5 !== 0);
    // within a batch the rows go out sorted by their JSON (a replay numbers them alike)
    expect(got.map((m) => (JSON.parse(m.data) as { id: number }).id).sort((a, b) => a - b)).toEqual(expected);
    for (const m of got) {
      const row = JSON.parse(m.data) as { id: number; v: string; o: number };
      expect(row).toEqual({ id: row.id, v: `v${row.id}`, o: row.id + 1 });
      const batch = Math.floor(row.id / 20);
      expect(m.headers['Duckstream-Batch-Id']).toBe(String(batch));
      expect(m.headers['Nats-Msg-Id']).toBe(`j1/${batch}/${m.headers['Duckstream-Row']}`);
      expect(m.subject).toBe(`${output}.rows`);
    }
    // Re-running the job on a fresh checkpoint replays batches 0..2: all already on the subject, none published again.
    await runJob(dir, sql, { checkpoint: `${dir}/ck2` });
    expect((await readStream(client, output)).length).toBe(expected.length);
  }, 30_000);

  it('skips replayed batches beyond the duplicate window, and completes a batch cut short from the row after the last stored', async () => {
    const output = randomName('eo');
    await client.stream(output, { duplicate_window: 200_000_000 }); // 200 ms: the server forgets ids quickly
    const subject = `${output}.rows`;
    const engine = await Engine.open();
    try {
      const batch = async (sink: ReturnType<typeof createSink>, batchId: number, ids: number[]) => {
        const relation = `b${batchId}_${Math.floor(Math.random() * 1e9)}`;
        await engine.run(`CREATE TEMP TABLE ${relation} AS SELECT * FROM (VALUES ${ids.map((i) => `(${i})`).join(', ')}) t(id)`);
        await sink.addBatch({ batchId, batchTime: Date.now(), engine, relation, numRows: ids.length });
      };
      const open = async () => {
        const sink = createSink('out', { connector: 'nats', servers: NATS_URL, subject, job_id: 'j' });
        await sink.open(engine);
        return sink;
      };
      const first = await open();
      await batch(first, 0, [1, 2, 3]);
      await batch(first, 1, [4, 5]);
      await first.close();
      // Batch 2 cut short by a crash: rows 0 and 1 of 4 (in the sink's order: sorted JSON) are stored.
      const cut = [6, 7].map((id, row) => ({
        subject,
        data: JSON.stringify({ id }),
        headers: { 'Nats-Msg-Id': `j/2/${row}`, 'Duckstream-Batch-Id': '2', 'Duckstream-Row': String(row), 'Duckstream-Rows': '4', 'Duckstream-Sink': 'out' },
      }));
      await client.publish(cut);
      await sleep(400);
      const second = await open();
      await batch(second, 0, [1, 2, 3]);
      await batch(second, 1, [4, 5]);
      await batch(second, 2, [6, 7, 8, 9]);
      await batch(second, 3, [10]);
      await second.close();
      const got = await readStream(client, output);
      expect(got.map((m) => (JSON.parse(m.data) as { id: number }).id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(got.map((m) => m.headers['Nats-Msg-Id'])).toEqual(['j/0/0', 'j/0/1', 'j/0/2', 'j/1/0', 'j/1/1', 'j/2/0', 'j/2/1', 'j/2/2', 'j/2/3', 'j/3/0']);
    } finally {
      engine.close();
    }
  }, 30_000);

  it('refuses a subject no stream stores, and a subject another publisher wrote last', async () => {
    const engine = await Engine.open();
    try {
      const none = createSink('out', { connector: 'nats', servers: NATS_URL, subject: `${randomName('none')}.x`, retries: '0' });
      await expect(none.open(engine)).rejects.toThrow(/no JetStream stream stores subject/);
      const stream = randomName('other');
      await client.stream(stream);
      await client.publish([{ subject: `${stream}.x`, data: '{}' }]);
      const other = createSink('out', { connector: 'nats', servers: NATS_URL, subject: `${stream}.x`, retries: '0' });
      await expect(other.open(engine)).rejects.toThrow(/was not published by a duckstream sink/);
      await none.close();
      await other.close();
    } finally {
      engine.close();
    }
  });
});
