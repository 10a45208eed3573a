import { describe, expect, it } from 'vitest';
import { AddData, Assert, CheckAnswer, Drain, RunBatch, StartStream, testStream } from '../support/stream-test.js';
import { oracle, splitLate } from '../support/oracle.js';
import { canonical } from '../support/stream-test.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ev = (sec: number, url: string, ms = 100) => ({ ts: new Date(T0 + sec * 1000).toISOString(), url, ms });

const job = (sink: string) => ({
  logs: { ev: 1 },
  sql: `CREATE SOURCE ev WITH (connector = 'log', path = '\${dir}/logs/ev', format = 'json',
          schema = 'ts TIMESTAMP, url VARCHAR, ms INTEGER', event_time = 'ts', watermark = '5 seconds');
        ${sink}`,
});

describe('TUMBLE window aggregation, append mode', () => {
  // Batches of events, out of order within and across batches, and some late.
  const batches = [
    [ev(1, '/a'), ev(3, '/b'), ev(2, '/a'), ev(9, '/a')],
    [ev(12, '/a'), ev(4, '/b'), ev(11, '/b'), ev(18, '/a')], // ev(4) is on time: watermark is 9 - 5 = 4s
    [ev(3, '/a', 999), ev(21, '/b'), ev(27, '/a'), ev(14, '/a')], // ev(3) is late (watermark 13s); ev(14) on time
    [ev(35, '/a'), ev(22, '/b', 5), ev(41, '/b')], // ev(22) late (watermark 22s)? 22 >= 22 is on time
  ];
  const query = `SELECT window_start, window_end, url, count(*) AS n, sum(ms) AS total_ms FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start, window_end, url`;

  it('emits each window once, when the watermark passes its end; the union equals the batch query over on-time rows', async () => {
    const { onTime, late } = splitLate(batches, 5000);
    expect(late).toHaveLength(1);
    const expected = await oracle(
      `SELECT time_bucket(INTERVAL '10 seconds', ts) AS window_start, time_bucket(INTERVAL '10 seconds', ts) + INTERVAL '10 seconds' AS window_end, url, count(*) AS n, sum(ms) AS total_ms FROM ev GROUP BY ALL`,
      { ev: { columns: `{ts: 'TIMESTAMP', url: 'VARCHAR', ms: 'INTEGER'}`, rows: onTime } },
    );
    const ctx = await testStream(
      job(`CREATE SINK counts WITH (connector = 'parquet', path = '\${dir}/out/counts') AS ${query};`),
      StartStream(),
      ...batches.flatMap((b) => [AddData('ev', 0, ...b), RunBatch(b.length)]),
      Assert('windows emitted so far are final: only those ending at or before the watermark (41 - 5 = 36s)', async (c) => {
        const rows = await c.sinkRows('counts');
        expect(rows.every((r) => Date.parse(`${String(r['window_end'])}Z`) <= T0 + 36_000)).toBe(true);
        expect(canonical(rows)).toEqual(canonical(expected.filter((r) => Date.parse(`${String(r['window_end'])}Z`) <= T0 + 36_000)));
      }),
      Drain,
      CheckAnswer('counts', expected),
    );
    expect(ctx.progress.map((p) => p.numRowsDroppedByWatermark)).toEqual([0, 0, 1, 0, 0]);
    // The batch in which each window was emitted: window [0,10) when the watermark reached 13s (batch 1), etc.
    expect(ctx.progress.map((p) => p.sinks[0]?.numOutputRows ?? 0)).toEqual([0, 2, 2, 2, 2]);
    expect(ctx.progress.map((p) => p.watermark)).toEqual(
      [4, 13, 22, 36].map((s) => new Date(T0 + s * 1000).toISOString()).concat([new Date(8_640_000_000_000_000).toISOString()]),
    );
  });
});
