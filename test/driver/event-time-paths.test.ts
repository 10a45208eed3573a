import { describe, expect, it } from 'vitest';
import { AddData, Assert, RunBatch, StartStream, testStream, type StreamTestContext } from '../support/stream-test.js';

/*
 * A bare event-time column is read from the Arrow batch (src/arrow/event-time-stats.ts); an expression goes through
 * the DuckDB query. The same job run both ways must give the same watermarks, late counts and outputs.
 */
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
// sub-millisecond times: the watermark is truncated to whole ms, the late test is not
const ev = (ms: number, usr = 'u') => ({ ts: new Date(T0 + ms).toISOString().replace('Z', `${String(Math.abs(ms) % 7)}01`), usr });

const job = (eventTime: string) => ({
  logs: { ev: 2 },
  sql: `CREATE SOURCE ev WITH (connector = 'log', path = '\${dir}/logs/ev', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR', event_time = '${eventTime}', watermark = '5 seconds');
    CREATE SINK w WITH (connector = 'jsonl', path = '\${dir}/out/w') AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start;
    CREATE SINK raw WITH (connector = 'jsonl', path = '\${dir}/out/raw') AS SELECT usr FROM ev;`,
});

async function run(eventTime: string): Promise<{ progress: unknown[]; w: unknown[] }> {
  let w: string[] = [];
  const ctx: StreamTestContext = await testStream(
    job(eventTime),
    StartStream(),
    AddData('ev', 0, ev(20_000), ev(21_000)),
    AddData('ev', 1, ev(14_000)),
    RunBatch(3),
    // partition 1 holds the watermark at 14 s − 5 s = 9 s: 9.5 s in partition 0 is on time, 8.9 s late
    AddData('ev', 0, ev(9_500, 'on-time'), ev(8_900, 'late')),
    AddData('ev', 1, ev(40_000)),
    RunBatch(3),
    // watermark now min(21 s, 40 s) − 5 s = 16 s: 16 s exactly is on time, 15.999 s late, 1 s late; after it 35 s
    AddData('ev', 0, ev(16_000, 'edge'), ev(15_999, 'late'), ev(1_000, 'late'), ev(50_000)),
    RunBatch(4),
    // the test's directory is gone once testStream returns
    Assert('window output', async (c) => {
      w = (await c.sinkRows('w')).map((r) => `${String(r['window_start'])} ${String(r['n'])}`).sort();
    }),
  );
  const progress = ctx.progress.map((p) => ({ watermark: p.watermark, late: p.numRowsDroppedByWatermark, rows: p.numInputRows }));
  return { progress, w };
}

describe('event-time statistics: Arrow path and query path', () => {
  it('give the same watermarks, late counts and outputs', async () => {
    const arrow = await run('ts');
    expect(arrow.progress).toEqual([
      { watermark: new Date(T0 + 9_000).toISOString(), late: 0, rows: 3 },
      { watermark: new Date(T0 + 16_000).toISOString(), late: 1, rows: 3 },
      { watermark: new Date(T0 + 35_000).toISOString(), late: 2, rows: 4 },
    ]);
    // on time: 9.5 s in [0, 10); 14 s and 16 s in [10, 20); 20 s and 21 s in [20, 30) (closed by the 35 s watermark)
    expect(arrow.w).toEqual(['2026-01-01 12:00:00 1', '2026-01-01 12:00:10 2', '2026-01-01 12:00:20 2']);
    expect(await run('ts + INTERVAL 0 SECOND')).toEqual(arrow);
    expect(await run('"TS"')).toEqual(arrow);
  });
});
