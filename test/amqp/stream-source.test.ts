import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSource } from '../../src/connectors/registry.js';
import { parsePartitionKey, type OffsetRange } from '../../src/plan/offset-range.js';
import { jsonl, parquet, query, runKafkaJob as runJob, tempDir } from '../kafka/kafka-job.js';
import { describeRabbit, Rabbit, randomQueue, RABBIT_URL, type TestMessage } from './rabbit.js';

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z, in seconds (the AMQP timestamp property's unit)

/** Messages i in [from, until) for queue number q: JSON {id, q}, message_id m<q>-<i>, a timestamp, headers on every 10th. */
function messages(q: number, from: number, until: number): TestMessage[] {
  return Array.from({ length: until - from }, (_, k) => {
    const i = from + k;
    return {
      body: JSON.stringify({ id: i, q }),
      options: { messageId: `m${q}-${i}`, timestamp: T0 + i, ...(i % 10 === 0 ? { headers: { trace: `t${i}`, n: i } } : {}) },
    };
  });
}

describeRabbit('amqp stream source', () => {
  let rabbit: Rabbit;
  beforeAll(async () => {
    rabbit = await Rabbit.open();
  });
  afterAll(() => rabbit?.close());

  it('reads two stream queues (partitions) as exact capped ranges into Parquet across runs, with metadata columns', async () => {
    const q0 = await rabbit.stream(randomQueue('exact0'));
    const q1 = await rabbit.stream(randomQueue('exact1'));
    await rabbit.publish(q0, messages(0, 0, 90));
    await rabbit.publish(q1, messages(1, 0, 50));
    const dir = tempDir('ds-amqp-');
    const sql = `CREATE SOURCE ev WITH (connector = 'amqp', url = '${RABBIT_URL}', queue = '${q0},${q1}', queue_type = 'stream', max_records_per_partition = '40', schema = 'id INTEGER, q INTEGER');
CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT id, q, _topic AS t, _partition AS p, _offset AS o, epoch(_timestamp)::BIGINT AS ts, _key AS k, _headers->>'trace' AS trace, _headers->>'n' AS n FROM ev;`;
    const first = await runJob(dir, sql);
    expect(first.batches).toBe(3); // q0: 40, 40, 10; q1: 40, 10
    await rabbit.publish(q0, messages(0, 90, 100));
    await rabbit.publish(q1, messages(1, 50, 75));
    const second = await runJob(dir, sql);
    expect(second.batches).toBe(1);
    const rows = await query(
      `SELECT id, q, t, p::INTEGER AS p, o::INTEGER AS o, ts::DOUBLE AS ts, k, trace, n FROM ${parquet(join(dir, 'out'))} ORDER BY q, id`,
    );
    const expected = [...Array.from({ length: 100 }, (_, i) => [0, i, q0] as const), ...Array.from({ length: 75 }, (_, i) => [1, i, q1] as const)].map(
      ([q, i, t]) => ({ id: i, q, t, p: 0, o: i, ts: T0 + i, k: `m${q}-${i}`, trace: i % 10 === 0 ? `t${i}` : null, n: i % 10 === 0 ? String(i) : null }),
    );
    expect(rows).toEqual(expected);
    const ranges = [...first.progress, ...second.progress].map((p) => `${p.sources[0]!.startOffset[`${q0}:0`]}-${p.sources[0]!.endOffset[`${q0}:0`]}`);
    expect(ranges).toEqual(['0-40', '40-80', '80-90', '90-100']);
  });

  it('returns the same rows for the same ranges on every read (replay), from any offset inside a chunk', async () => {
    const q = await rabbit.stream(randomQueue('replay'));
    // Several chunks: batches of confirms become chunks of different sizes.
    for (let k = 0; k < 5; k++) await rabbit.publish(q, messages(0, k * 37, (k + 1) * 37));
    const source = await createSource({ name: 'ev', columns: undefined, line: 1, options: { connector: 'amqp', queue: q, schema: 'id INTEGER, q INTEGER' } });
    try {
      const latest = await source.latestOffsets();
      expect([...latest]).toEqual([[`${q}:0`, 185n]]);
      expect([...(await source.earliestOffsets())]).toEqual([[`${q}:0`, 0n]]);
      const ranges: OffsetRange[] = [{ ...parsePartitionKey(`${q}:0`), from: 13n, until: 150n }];
      const ids = async () => {
        const batch = await source.read(ranges);
        return batch.table.toArray().map((r: { _offset: bigint; id: number }) => [Number(r._offset), r.id]);
      };
      const a = await ids();
      const b = await ids();
      expect(a).toEqual(Array.from({ length: 137 }, (_, i) => [13 + i, 13 + i]));
      expect(b).toEqual(a);
    } finally {
      await source.close();
    }
  });

  it('an empty stream has offsets 0..0; options are checked with fix-it messages and the password is never shown', async () => {
    const q = await rabbit.stream(randomQueue('empty'));
    const source = await createSource({ name: 'ev', options: { connector: 'amqp', queue: q, probe_ms: '50' } });
    try {
      expect([...(await source.latestOffsets())]).toEqual([[`${q}:0`, 0n]]);
      expect([...(await source.earliestOffsets())]).toEqual([[`${q}:0`, 0n]]);
    } finally {
      await source.close();
    }
    await expect(createSource({ name: 'ev', options: { connector: 'amqp' } })).rejects.toThrow(/needs queue = '<stream queue>/);
    await expect(createSource({ name: 'ev', options: { connector: 'amqp', queue: q, starting_offsets: '{"nope": 3}' } })).rejects.toThrow(
      /starting_offsets names queue 'nope'/,
    );
    const bad = await createSource({ name: 'ev', options: { connector: 'amqp', queue: q, url: 'amqp://guest:s3cret@127.0.0.1:1', retries: '0' } });
    const err = await bad.latestOffsets().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await bad.close();
    expect(err?.message).toMatch(/cannot connect to amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/);
    expect(err?.message).not.toMatch(/s3cret/);
  });

  it('small segments leave offset gaps (a tracking record per segment): capped reads over them get every message once, no loss', async () => {
    const q = await rabbit.stream(randomQueue('gaps'), { 'x-stream-max-segment-size-bytes': 1000 });
    for (let k = 0; k < 6; k++) await rabbit.publish(q, messages(0, k * 10, (k + 1) * 10));
    const stored = await storedOffsets(q);
    expect(stored.length).toBe(60);
    expect(stored.at(-1)!).toBeGreaterThan(60); // gaps: offsets are not message counts
    const dir = tempDir('ds-amqp-');
    const notes: string[] = [];
    const run = await runJob(
      dir,
      `CREATE SOURCE ev WITH (connector = 'amqp', queue = '${q}', max_records_per_partition = '7', schema = 'id INTEGER, q INTEGER');
       CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _offset AS o FROM ev;`,
    );
    notes.push(...run.notes);
    const rows = await query(`SELECT id::INTEGER AS id, o::INTEGER AS o FROM ${jsonl(join(dir, 'out'))} ORDER BY o`);
    expect(rows).toEqual(stored.map((o, i) => ({ id: i, o })));
    expect(run.progress.flatMap((p) => p.sources[0]!.lostRanges ?? [])).toEqual([]);
  });

  it('messages removed by retention before they were read: fail_on_data_loss stops the job; false skips them, reporting the range', async () => {
    const q = await rabbit.stream(randomQueue('loss'), { 'x-max-length-bytes': 20000, 'x-stream-max-segment-size-bytes': 8000 });
    const big = (from: number, until: number) =>
      messages(0, from, until).map((m) => ({ ...m, body: JSON.stringify({ id: Number(m.options!.messageId!.split('-')[1]), q: 0, pad: 'x'.repeat(80) }) }));
    await rabbit.publish(q, big(0, 5));
    const dir = tempDir('ds-amqp-');
    const job = (
      fail: boolean,
    ) => `CREATE SOURCE ev WITH (connector = 'amqp', queue = '${q}', fail_on_data_loss = '${fail}', schema = 'id INTEGER, q INTEGER, pad VARCHAR');
       CREATE SINK out WITH (connector = 'jsonl', path = '${dir}/out') AS SELECT id, _offset AS o FROM ev;`;
    expect((await runJob(dir, job(true))).batches).toBe(1);
    for (let k = 0; k < 60; k++) await rabbit.publish(q, big(5 + k * 10, 15 + k * 10));
    // Retention may leave the active segment with no message at all (only its tracking record): a few more, small.
    await rabbit.publish(q, messages(0, 605, 608));
    const stored = await storedOffsets(q);
    expect(stored[0]!).toBeGreaterThan(100); // retention removed the start
    await expect(runJob(dir, job(true))).rejects.toThrow(/data loss: offsets \[5, \d+\) were removed \(retention/);
    const skipped = await runJob(dir, job(false));
    const lost = skipped.progress.flatMap((p) => p.sources[0]!.lostRanges ?? []);
    expect(lost).toEqual([{ topic: q, partition: 0, from: '5', until: String(stored[0]!) }]);
    const rows = await query(`SELECT o::INTEGER AS o FROM ${jsonl(join(dir, 'out'))} ORDER BY o`);
    expect(rows.map((r) => r['o'])).toEqual([0, 1, 2, 3, 4, ...stored]);
  });
});

/** Every stored message's offset, read with plain amqplib from 'first' (independent of the source under test). */
async function storedOffsets(queue: string): Promise<number[]> {
  const r = await Rabbit.open();
  try {
    const ch = await r.conn.createChannel();
    await ch.prefetch(1000);
    const seen: number[] = [];
    let last = Date.now();
    await ch.consume(
      queue,
      (m) => {
        if (!m) return;
        seen.push(Number(m.properties.headers!['x-stream-offset']));
        last = Date.now();
        ch.ack(m);
      },
      { noAck: false, arguments: { 'x-stream-offset': 'first' } },
    );
    while (Date.now() - last < 300) await new Promise((res) => setTimeout(res, 50));
    await ch.close();
    return seen;
  } finally {
    await r.conn.close();
  }
}

describeRabbit('amqp example job', () => {
  it('runs jobs/amqp-events.sql (its queues and output moved aside): windows of the published events', async () => {
    const rabbit = await Rabbit.open();
    try {
      const [q0, q1] = [await rabbit.stream(randomQueue('events0')), await rabbit.stream(randomQueue('events1'))];
      const ev = (kind: string, sec: number) => ({ body: JSON.stringify({ kind, ts: new Date(Date.UTC(2026, 11, 7, 12, 0, sec)).toISOString() }) });
      await rabbit.publish(q0, [ev('click', 1), ev('view', 2), ev('click', 70)]);
      await rabbit.publish(q1, [ev('click', 3), ev('view', 130)]);
      const dir = tempDir('ds-amqp-job-');
      const sql = readFileSync('jobs/amqp-events.sql', 'utf8').replace("'events-0,events-1'", `'${q0},${q1}'`).replace("'out/amqp-events'", `'${dir}/out'`);
      expect(sql).toContain(q0);
      await runJob(dir, sql);
      const rows = await query(`SELECT strftime(window_start, '%H:%M') AS w, kind, n::INTEGER AS n FROM ${parquet(join(dir, 'out'))} ORDER BY w, kind`);
      // The watermark (max event time − 5 s over both queues' minimum) has closed the first minute only.
      expect(rows).toEqual([
        { w: '12:00', kind: 'click', n: 2 },
        { w: '12:00', kind: 'view', n: 1 },
      ]);
    } finally {
      await rabbit.close();
    }
  });
});
