import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProtocolStep } from '../../src/driver/driver.js';
import { oracle, splitLate } from '../support/oracle.js';
import {
  AddData,
  AdvanceManualClock,
  Assert,
  CheckAnswer,
  CrashAt,
  Drain,
  ExpectFailure,
  RunBatch,
  StartStream,
  StopStream,
  testStream,
} from '../support/stream-test.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ev = (sec: number, usr = 'u1', price = 1) => ({ ts: new Date(T0 + sec * 1000).toISOString(), usr, price });
const SRC = (opts = `watermark = '5 seconds'`) =>
  `CREATE SOURCE ev WITH (connector = 'log', path = '\${dir}/logs/ev', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR, price INTEGER', event_time = 'ts', ${opts});`;
const COLUMNS = `{ts: 'TIMESTAMP', usr: 'VARCHAR', price: 'INTEGER'}`;

describe('deduplication with a watermark', () => {
  it("DISTINCT ON (key) keeps each key's earliest row, emitted once it is final; later duplicates are dropped", async () => {
    const batches = [
      [ev(3, 'a', 1), ev(1, 'b', 2), ev(2, 'a', 3)],
      [ev(4, 'a', 4), ev(2.5, 'b', 5), ev(6, 'c', 6)],
      [ev(9, 'c', 7), ev(5, 'b', 8), ev(12, 'd', 9)],
      [ev(13, 'd', 10), ev(20, 'e', 11), ev(11, 'e', 12)],
    ];
    const { onTime } = splitLate(batches, 5000);
    const query = `SELECT DISTINCT ON (usr) usr, ts, price FROM ev ORDER BY usr, ts`;
    const expected = await oracle(query, { ev: { columns: COLUMNS, rows: onTime } });
    const ctx = await testStream(
      { logs: { ev: 1 }, sql: `${SRC()} CREATE SINK d WITH (connector = 'parquet', path = '\${dir}/out/d') AS ${query};` },
      StartStream(),
      ...batches.flatMap((b) => [AddData('ev', 0, ...b), RunBatch(b.length)]),
      Drain,
      CheckAnswer('d', expected),
    );
    // A key is final once the watermark passes its earliest row: watermarks after each batch are −2, 1, 7, 15 s,
    // so a (2 s), b (1 s), c (6 s) come out in batch 2, d (12 s) and e (11 s) in batch 3.
    expect(ctx.progress.map((p) => p.sinks[0]?.numOutputRows ?? 0)).toEqual([0, 0, 3, 2, 0]);
  });
});

describe('refusals, at start, with the reason', () => {
  const cases: [string, string, RegExp][] = [
    [
      'append on a running aggregate',
      `SELECT usr, count(*) FROM ev GROUP BY usr`,
      /its result rows keep changing, so output_mode 'append' cannot[\s\S]*fix: add output_mode = 'update'/,
    ],
    [
      'an outer stream–stream join without bounds',
      `SELECT * FROM ev a LEFT JOIN ev b ON a.usr = b.usr`,
      /LEFT OUTER join of streams without an event-time bound: a row without a partner may still find one later[\s\S]*fix: bound the join in event time/,
    ],
    ['LIMIT over a stream', `SELECT * FROM ev LIMIT 10`, /LIMIT over a stream has no streaming meaning/],
    [
      'a windowed GROUP BY without the window',
      `SELECT usr, count(*) FROM TUMBLE(ev, ts, INTERVAL '1 minute') GROUP BY usr`,
      /must include window_start or window_end/,
    ],
    [
      'update mode on session windows',
      `SELECT usr, window_end, count(*) FROM SESSION(ev, ts, INTERVAL '1 minute', usr) GROUP BY ALL`,
      /session windows support output_mode 'append' or 'complete'/,
    ],
    [
      'a window function over the stream outside a window',
      `SELECT usr, row_number() OVER (PARTITION BY window_start ORDER BY ts) FROM TUMBLE(ev, ts, INTERVAL '1 minute') a JOIN ev b USING (usr)`,
      /both through a window and directly/,
    ],
    [
      'a HOP whose size is not a multiple of its slide',
      `SELECT window_start, count(*) FROM HOP(ev, ts, INTERVAL '7 seconds', INTERVAL '10 seconds') GROUP BY ALL`,
      /HOP size must be a whole multiple of its slide/,
    ],
  ];
  for (const [what, query, message] of cases) {
    it(what, async () => {
      const mode = what.startsWith('update mode') ? `, output_mode = 'update'` : '';
      await testStream(
        { logs: { ev: 1 }, sql: `${SRC()} CREATE SINK s WITH (connector = 'console'${mode}) AS ${query};` },
        ExpectFailure(message, StartStream()),
      );
    });
  }

  it('append mode on a window without a watermark', async () => {
    await testStream(
      {
        logs: { ev: 1 },
        sql: `CREATE SOURCE ev WITH (connector = 'log', path = '\${dir}/logs/ev', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR, price INTEGER'); CREATE SINK s WITH (connector = 'console') AS SELECT window_start, count(*) FROM TUMBLE(ev, ts, INTERVAL '1 minute') GROUP BY ALL;`,
      },
      ExpectFailure(/needs a watermark on source 'ev': without one no window ever closes/, StartStream()),
    );
  });
});

describe('watermarks', () => {
  const windowed = `CREATE SINK w WITH (connector = 'jsonl', path = '\${dir}/out/w') AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start;`;

  it('by default (as in Spark) the watermark does not move without data, so the last window stays open', async () => {
    const ctx = await testStream(
      { logs: { ev: 1 }, sql: `${SRC()} ${windowed}` },
      StartStream(),
      AddData('ev', 0, ev(1), ev(2)),
      RunBatch(2),
      AdvanceManualClock(600_000),
      RunBatch(),
      CheckAnswer('w', []),
    );
    expect(ctx.progress).toHaveLength(1);
  });

  it('with idle_timeout, an idle source lets the watermark advance with processing time, closing the last windows', async () => {
    const ctx = await testStream(
      { logs: { ev: 1 }, sql: `${SRC(`watermark = '5 seconds', idle_timeout = '30 seconds'`)} ${windowed}` },
      StartStream(),
      Assert('clock at event time', (c) => c.clock.advance(T0 - c.clock.now())),
      AddData('ev', 0, ev(1), ev(2)),
      RunBatch(2),
      AdvanceManualClock(20_000),
      RunBatch(), // idle for 20 s < 30 s: nothing
      AdvanceManualClock(15_000),
      RunBatch(0), // idle 35 s: the watermark moves to now − 5 s = 30 s; window [0, 10) closes in this no-data batch
      CheckAnswer('w', [{ window_start: '2026-01-01 12:00:00', n: 2 }]),
    );
    expect(ctx.progress.map((p) => p.numInputRows)).toEqual([2, 0]);
  });

  it('late rows are counted and written to the late-data output', async () => {
    const ctx = await testStream(
      { logs: { ev: 1 }, sql: `${SRC(`watermark = '5 seconds', late_data_path = '\${dir}/out/late'`)} ${windowed}` },
      StartStream(),
      AddData('ev', 0, ev(20), ev(21)),
      RunBatch(2),
      AddData('ev', 0, ev(1, 'late-one'), ev(30)),
      RunBatch(2),
      Assert('late file', (c) => {
        const files = readdirSync(join(c.dir, 'out', 'late')).filter((f) => f.endsWith('.jsonl'));
        expect(files).toEqual(['part-0000000001.jsonl']);
        expect(readFileSync(join(c.dir, 'out', 'late', files[0]!), 'utf8')).toMatch(/"usr":"late-one"/);
      }),
    );
    expect(ctx.progress.map((p) => p.numRowsDroppedByWatermark)).toEqual([0, 1]);
  });
});

describe('crash recovery of a stateful job', () => {
  const steps: [ProtocolStep, string | undefined][] = [
    ['offsetLogWritten', undefined],
    ['read', undefined],
    ['stateCommitted', undefined],
    ['sinkWritten', 'w'],
    ['sinksWritten', undefined],
    ['commitLogWritten', undefined],
  ];
  const batches = [
    [ev(1), ev(3), ev(12)],
    [ev(14), ev(2), ev(25)],
    [ev(31), ev(22), ev(40)],
    [ev(41), ev(55)],
  ];
  const sql = `${SRC()}
    CREATE SINK w WITH (connector = 'parquet', path = '\${dir}/out/w') AS SELECT window_start, count(*) AS n, sum(price) AS p FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start;
    CREATE SINK t WITH (connector = 'duckdb', path = '\${dir}/out/t.duckdb', table = 'totals', output_mode = 'update') AS SELECT usr, count(*) AS n FROM ev GROUP BY usr;`;

  for (const [step, sink] of steps) {
    it(`crash after ${step}${sink ? ` (${sink})` : ''} in batch 2: output identical to a run without crashes`, async () => {
      const { onTime } = splitLate(batches, 5000);
      const expected = await oracle(`SELECT time_bucket(INTERVAL '10 seconds', ts) AS window_start, count(*) AS n, sum(price) AS p FROM ev GROUP BY ALL`, {
        ev: { columns: COLUMNS, rows: onTime },
      });
      const ctx = await testStream(
        { logs: { ev: 1 }, sql },
        StartStream(),
        AddData('ev', 0, ...batches[0]!),
        RunBatch(3),
        AddData('ev', 0, ...batches[1]!),
        RunBatch(3),
        AddData('ev', 0, ...batches[2]!),
        CrashAt(step, sink),
        RunBatch(),
        StartStream(),
        RunBatch(step === 'commitLogWritten' ? undefined : 3), // batch 2 again, unless it had committed
        AddData('ev', 0, ...batches[3]!),
        RunBatch(),
        RunBatch(),
        Drain,
        CheckAnswer('w', expected),
        StopStream,
        Assert('duckdb running totals', async (c) => {
          const { Engine, literal } = await import('../../src/sql/engine.js');
          const e = await Engine.open();
          try {
            await e.run(`ATTACH ${literal(join(c.dir, 'out/t.duckdb'))} AS t (READ_ONLY)`);
            expect(await e.allJson('SELECT usr, n FROM t.totals')).toEqual([{ usr: 'u1', n: String(onTime.length) }]);
          } finally {
            e.close();
          }
        }),
      );
      expect(existsSync(join(ctx.dir, 'checkpoint', 'state.duckdb'))).toBe(false); // cleaned up with the test dir
    });
  }

  it('state stays bounded on a long run with a watermark', async () => {
    const long = Array.from({ length: 40 }, (_, b) => Array.from({ length: 10 }, (_, i) => ev(b * 10 + i)));
    const ctx = await testStream(
      {
        logs: { ev: 1 },
        sql: `${SRC()} CREATE SINK w WITH (connector = 'jsonl', path = '\${dir}/out/w') AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start;`,
      },
      StartStream(),
      ...long.flatMap((b) => [AddData('ev', 0, ...b), RunBatch(10)]),
    );
    const rows = ctx.progress.map((p) => p.stateRows);
    expect(Math.max(...rows)).toBeLessThanOrEqual(20);
    expect(rows.at(-1)).toBeGreaterThan(0);
    expect(ctx.progress.at(-1)!.stateOperators).toEqual([
      { sink: 'w', operator: 'TUMBLE window append, partials per pane', rows: rows.at(-1), bytes: expect.any(Number) },
    ]);
    expect(ctx.progress.at(-1)!.stateOperators[0]!.bytes).toBeGreaterThan(0);
  });
});
