import { afterAll, beforeAll, expect, it } from 'vitest';
import { runWithCuts } from '../amqp/connection-cut.js';
import { describeRabbit, Rabbit } from '../amqp/rabbit.js';

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
