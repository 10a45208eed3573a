import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runWithCuts } from '../amqp/connection-cut.js';
import { ingest, logValues, waitFor } from '../amqp/ingest-process.js';
import { describeRabbit, Rabbit, RABBIT_URL, randomQueue } from '../amqp/rabbit.js';
import { tempDir } from '../kafka/kafka-job.js';

describeRabbit('amqp stream source: many connection cuts (fault loop)', () => {
  let rabbit: Rabbit;
  beforeAll(async () => {
    rabbit = await Rabbit.open();
  });
  afterAll(() => rabbit?.close());

  it('20 000 messages, a cut at every batch start and every 400 ms: every message exactly once', async () => {
    const { batches, cuts } = await runWithCuts(rabbit, { messages: 20_000, cap: 500, cutEvery: 1, timerMs: 400 });
    expect(batches).toBe(20);
    expect(cuts).toBeGreaterThanOrEqual(20);
  });
});

describeRabbit('amqp landing: duckstream ingest SIGKILLed between append and ack, 10 times (fault loop)', () => {
  let rabbit: Rabbit;
  beforeAll(async () => {
    rabbit = await Rabbit.open();
  });
  afterAll(() => rabbit?.close());

  it('a quorum queue of 2000 messages, 10 runs each SIGKILLed after its 150th landed message (before its ack): 0 lost, no duplicate in the log', async () => {
    const queue = await rabbit.queue(randomQueue('landloop'), 'quorum');
    await rabbit.publish(
      queue,
      Array.from({ length: 2000 }, (_, n) => ({ body: JSON.stringify({ n }), options: { messageId: `id-${n}` } })),
    );
    const to = join(tempDir('ds-amqp-landloop-'), 'landed');
    const args = [RABBIT_URL, '--to', to, '--queue', queue, '-o', 'prefetch=100'];
    for (let k = 1; k <= 10; k++) {
      const before = (await logValues(to).catch(() => [])).length;
      const run = ingest(args, { DUCKSTREAM_TEST_KILL_AFTER_LANDED: String(150) });
      expect((await run.exited).signal, run.stderr()).toBe('SIGKILL');
      expect((await logValues(to)).length).toBeGreaterThan(before);
    }
    const last = ingest(args);
    await waitFor('2000 distinct landed messages', async () => new Set(await logValues(to)).size >= 2000, 60_000);
    last.child.kill('SIGINT');
    expect((await last.exited).code, last.stderr()).toBe(0);
    const ns = (await logValues(to)).map((v) => (JSON.parse(v) as { n: number }).n);
    expect(ns.length).toBe(2000);
    expect([...ns].sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });
});
