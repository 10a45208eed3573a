/** A stream job run while its connection to RabbitMQ is cut again and again (shared by the default test and the fault loop). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runJob } from '../../src/driver/run-job.js';
import { parquet, query, tempDir } from '../kafka/kafka-job.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import type { Rabbit } from './rabbit.js';
import { randomQueue } from './rabbit.js';

/**
 * `messages` JSON messages over two stream queues, read in batches of `cap` per queue by a job whose connection
 * goes through a TCP proxy: cut at the start of every `cutEvery`-th batch (after its offsets are logged, before
 * it reads) and on a timer while reads are under way. Then every message is in the Parquet sink exactly once.
 */
export async function runWithCuts(
  rabbit: Rabbit,
  o: { messages: number; cap: number; cutEvery: number; timerMs: number },
): Promise<{ batches: number; cuts: number }> {
  const queues = [await rabbit.stream(randomQueue('cut0')), await rabbit.stream(randomQueue('cut1'))];
  for (const [q, queue] of queues.entries()) {
    const ids = Array.from({ length: o.messages / 2 }, (_, i) => 2 * i + q);
    for (let i = 0; i < ids.length; i += 500)
      await rabbit.publish(
        queue,
        ids.slice(i, i + 500).map((id) => ({ body: JSON.stringify({ id }) })),
      );
  }
  const proxy = await startTcpProxy(5672);
  const dir = tempDir('ds-amqp-cut-');
  let cuts = 0;
  const cut = () => {
    cuts++;
    proxy.cut();
  };
  const timer = setInterval(cut, o.timerMs);
  try {
    const jobFile = join(dir, 'job.sql');
    writeFileSync(
      jobFile,
      `CREATE SOURCE ev WITH (connector = 'amqp', url = 'amqp://guest:guest@127.0.0.1:${proxy.port}', queue = '${queues.join(',')}', max_records_per_partition = '${o.cap}', schema = 'id INTEGER', retries = '20', retry_backoff_ms = '50', read_timeout_ms = '5000');
       CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT id, _topic AS t, _offset AS o FROM ev;`,
    );
    const { batches } = await runJob({
      jobFile,
      checkpoint: join(dir, 'ck'),
      trigger: { kind: 'available-now' },
      note: () => undefined,
      afterStep: async (step, batchId) => {
        if (step === 'offsetLogWritten' && batchId % o.cutEvery === 0) cut();
      },
    });
    const summary = await query(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi FROM ${parquet(join(dir, 'out'))}`,
    );
    expect(summary).toEqual([{ n: o.messages, d: o.messages, lo: 0, hi: o.messages - 1 }]);
    // Offsets line up with ids: message k of queue q has offset k (no gaps at the default segment size).
    const misplaced = await query(`SELECT count(*)::INTEGER AS n FROM ${parquet(join(dir, 'out'))} WHERE o::BIGINT * 2 + (id % 2) <> id`);
    expect(misplaced).toEqual([{ n: 0 }]);
    return { batches, cuts };
  } finally {
    clearInterval(timer);
    await proxy.close();
  }
}
