import { afterAll, beforeAll, expect, it } from 'vitest';
import { runWithCuts } from './connection-cut.js';
import { describeRabbit, Rabbit } from './rabbit.js';

// Issue 15 "Faults": the connection dropped in the middle of a run (a broker restart as the client sees it); the
// long loop is test/faults/amqp.faults.ts.
describeRabbit('amqp stream source: connection cut mid-run', () => {
  let rabbit: Rabbit;
  beforeAll(async () => {
    rabbit = await Rabbit.open();
  });
  afterAll(() => rabbit?.close());

  it('reconnects and re-reads the logged ranges: every message exactly once in Parquet', async () => {
    const { batches, cuts } = await runWithCuts(rabbit, { messages: 2000, cap: 250, cutEvery: 2, timerMs: 700 });
    expect(batches).toBe(4);
    expect(cuts).toBeGreaterThanOrEqual(2);
  });
});
