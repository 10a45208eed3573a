import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSource } from '../../src/connectors/registry.js';
import { parsePartitionKey } from '../../src/plan/offset-range.js';
import { tempDir } from '../kafka/kafka-job.js';
import { ingest, logValues, waitFor } from './ingest-process.js';
import { describeRabbit, Rabbit, randomQueue, RABBIT_URL } from './rabbit.js';

const published = (from: number, until: number) =>
  Array.from({ length: until - from }, (_, k) => ({ body: JSON.stringify({ n: from + k }), options: { messageId: `id-${from + k}` } }));

describeRabbit('amqp classic/quorum queues: landing', () => {
  let rabbit: Rabbit;
  beforeAll(async () => {
    rabbit = await Rabbit.open();
  });
  afterAll(() => rabbit?.close());

  it('duckstream ingest amqp://, SIGKILLed between the durable append and basic.ack: 0 lost after restart, redeliveries dropped by message_id', async () => {
    const queue = await rabbit.queue(randomQueue('land'), 'classic');
    await rabbit.publish(queue, published(0, 300));
    const to = join(tempDir('ds-amqp-land-'), 'landed');
    const args = [RABBIT_URL, '--to', to, '--queue', queue, '-o', 'prefetch=50'];
    const first = ingest(args, { DUCKSTREAM_TEST_KILL_AFTER_LANDED: '100' });
    expect((await first.exited).signal, first.stderr()).toBe('SIGKILL');
    const afterKill = await logValues(to);
    expect(afterKill.length).toBeGreaterThanOrEqual(100);
    await rabbit.publish(queue, published(300, 400));
    const second = ingest(args);
    await waitFor('400 distinct landed messages', async () => new Set(await logValues(to)).size >= 400);
    second.child.kill('SIGINT');
    expect((await second.exited).code, second.stderr()).toBe(0);
    const ns = (await logValues(to)).map((v) => (JSON.parse(v) as { n: number }).n);
    expect(ns.length, 'duplicates in the log').toBe(400);
    expect([...ns].sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    // The deliveries landed before the kill but never acked came again (redelivered) and were dropped.
    expect(Number(/dropped (\d+) duplicate/.exec(second.stderr())?.[1]), second.stderr()).toBeGreaterThanOrEqual(1);
    // Nothing left unacknowledged in the queue.
    const ch = await rabbit.conn.createChannel();
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    await ch.close();
  }, 25_000);

  it('a quorum queue as a job source: landed under landing_path, read as exact log ranges with the message key and headers', async () => {
    const queue = await rabbit.queue(randomQueue('quorum'), 'quorum');
    await rabbit.publish(
      queue,
      published(0, 50).map((m, i) => ({ ...m, options: { ...m.options, timestamp: 1_767_225_600 + i, headers: { h: `v${i}` } } })),
    );
    const landing = join(tempDir('ds-amqp-q-'), 'landing');
    const source = await createSource({
      name: 'orders',
      columns: undefined,
      line: 1,
      options: { connector: 'amqp', queue, queue_type: 'quorum', landing_path: landing, schema: 'n INTEGER' },
    });
    try {
      let latest = new Map<string, bigint>();
      await waitFor('50 landed', async () => {
        latest = await source.latestOffsets();
        return [...latest.values()][0] === 50n;
      });
      const [key] = [...latest.keys()];
      const batch = await source.read([{ ...parsePartitionKey(key!), from: 0n, until: 50n }]);
      const rows = batch.table.toArray().map((r: { n: number; _offset: bigint; _key: string; _timestamp: unknown }) => [r.n, Number(r._offset), r._key]);
      expect(rows).toEqual(Array.from({ length: 50 }, (_, i) => [i, i, queue]));
      // Each ack follows its durable append; the last group's acks may still be on their way when the rows are read.
      const ch = await rabbit.conn.createChannel();
      await waitFor('every landed message acked', async () => (await ch.checkQueue(queue)).messageCount === 0);
      await ch.close();
    } finally {
      await source.close();
    }
  });
});
