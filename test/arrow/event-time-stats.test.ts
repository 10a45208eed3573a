import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableFromArrow } from '../../src/arrow/arrow-to-duckdb.js';
import { eventTimeStatsFromArrow, type EventTimeStats } from '../../src/arrow/event-time-stats.js';
import { queryEventTimeStats } from '../../src/driver/event-time-query.js';
import { END_OF_TIME_MS } from '../../src/driver/watermark.js';
import { Engine } from '../../src/sql/engine.js';
import { fixed, table, varwidth } from './helpers.js';

type Row = { topic: string; partition: number; ts: bigint | null };

const fields = (tsType: arrow.DataType, name = 'ts') => [
  new arrow.Field('_topic', new arrow.Utf8(), false),
  new arrow.Field('_partition', new arrow.Int32(), false),
  new arrow.Field('v', new arrow.Int32(), true),
  new arrow.Field(name, tsType, true),
];

/** One record batch per chunk of rows. */
function sourceTable(tsType: arrow.DataType, chunks: readonly (readonly Row[])[], name = 'ts'): arrow.Table {
  return table(
    fields(tsType, name),
    chunks.map((rows) => [
      varwidth(
        new arrow.Utf8(),
        rows.map((r) => r.topic),
      ),
      fixed(
        new arrow.Int32(),
        rows.map((r) => r.partition),
      ),
      fixed(
        new arrow.Int32(),
        rows.map((_, i) => i),
      ),
      fixed(
        tsType as arrow.Timestamp,
        rows.map((r) => r.ts),
      ),
    ]),
  );
}

const sorted = (s: EventTimeStats) => ({ maxima: [...s.maxima].sort(([a], [b]) => a.localeCompare(b)), late: s.late });

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.open();
});
afterAll(() => engine.close());

/** The driver's query on the same rows loaded into DuckDB: the reference. */
async function viaSql(t: arrow.Table, ets: string, wN: number | null): Promise<EventTimeStats> {
  await engine.exclusive((c) => createTableFromArrow(c, '"src"', t, { temporary: true, replace: true }));
  return queryEventTimeStats(engine, 'src', ets, wN);
}

const US = arrow.TimeUnit.MICROSECOND;

describe('eventTimeStatsFromArrow', () => {
  it('gives exact per-partition maxima and late counts (hand-computed), equal to the SQL query', async () => {
    const t = sourceTable(new arrow.Timestamp(US), [
      [
        { topic: 'a', partition: 0, ts: 1_000_500n }, // 1000.5 ms
        { topic: 'a', partition: 0, ts: 999_999n }, // 999.999 ms: late against 1000
        { topic: 'a', partition: 1, ts: null },
        { topic: 'a', partition: 1, ts: 2_000_000n },
        { topic: 'b', partition: 0, ts: -1_500n }, // -1.5 ms: epoch_ms truncates to -1
        { topic: 'b', partition: 0, ts: -2_000_000n },
      ],
      [
        { topic: 'a', partition: 0, ts: 3_000_999n }, // 3000.999 ms → 3000
        { topic: 'c', partition: 7, ts: null }, // only nulls: no maximum, not late
        { topic: 'a', partition: 1, ts: 1_000_000n }, // exactly the watermark: on time
      ],
    ]);
    const expected = {
      maxima: [
        ['a:0', 3000],
        ['a:1', 2000],
        ['b:0', -1],
      ],
      late: 3,
    };
    expect(sorted(eventTimeStatsFromArrow(t, 'ts', 1000)!)).toEqual(expected);
    expect(sorted(await viaSql(t, 'ts', 1000))).toEqual(expected);
    // no watermark yet: nothing is late
    expect(sorted(eventTimeStatsFromArrow(t, 'ts', null)!)).toEqual({ ...expected, late: 0 });
    expect(sorted(await viaSql(t, 'ts', null))).toEqual({ ...expected, late: 0 });
  });

  it('splits runs where the topic changes within one partition, also between topics whose bytes repeat', async () => {
    // Topics of equal length ('ab'/'ba', whose bytes continue the period of 'abab…'), of other lengths ('a', 'aba'),
    // and back again: each partition key gets exactly its own rows' maximum.
    const topics = ['ab', 'ab', 'ba', 'ab', 'a', 'a', 'aba', 'ab', 'ab', 'ba'];
    const rows = topics.map((topic, i) => ({ topic, partition: 3, ts: BigInt(1_000_000 * (10 - i) + (topic === 'ab' ? 7 : 0)) }));
    const t = sourceTable(new arrow.Timestamp(US), [rows]);
    const expected = {
      maxima: [
        ['a:3', 6000],
        ['ab:3', 10000],
        ['aba:3', 4000],
        ['ba:3', 8000],
      ],
      late: 4,
    };
    expect(sorted(eventTimeStatsFromArrow(t, 'ts', 4500)!)).toEqual(expected);
    expect(sorted(await viaSql(t, 'ts', 4500))).toEqual(expected);
  });

  const units = [arrow.TimeUnit.SECOND, arrow.TimeUnit.MILLISECOND, arrow.TimeUnit.MICROSECOND, arrow.TimeUnit.NANOSECOND];
  const perMs = { [arrow.TimeUnit.SECOND]: 0.001, [arrow.TimeUnit.MILLISECOND]: 1, [arrow.TimeUnit.MICROSECOND]: 1000, [arrow.TimeUnit.NANOSECOND]: 1_000_000 };
  for (const unit of units) {
    it(`matches the SQL query for ${arrow.TimeUnit[unit]} timestamps around watermark boundaries, before 1970 and sub-ms`, async () => {
      const type = new arrow.Timestamp(unit);
      const scale = perMs[unit];
      // values in the column's unit: around 0, around ±1 ms and around the watermarks below, plus nulls
      const around = (ms: number) => [-1, 0, 1].map((d) => BigInt(Math.round(ms * scale)) + BigInt(d));
      const values = [0, 1, -1, 1.5, -1.5, 1000, -1000, 1_700_000_000_123, -86_400_000_007].flatMap(around);
      const rows: Row[] = values.map((ts, i) => ({ topic: i % 3 === 0 ? 'x' : 'yy', partition: i % 4, ts: i % 5 === 2 ? null : ts }));
      const t = sourceTable(type, [rows.slice(0, 11), rows.slice(11)]);
      for (const wN of [null, 0, 1, -1, 1000, -1000, 1.7, -1.7, 1_700_000_000_123, -86_400_000_007, END_OF_TIME_MS]) {
        const got = eventTimeStatsFromArrow(t, 'ts', wN);
        if (wN === END_OF_TIME_MS && unit === arrow.TimeUnit.NANOSECOND) {
          // DuckDB cannot compare TIMESTAMP_NS with a TIMESTAMP past 2262 (a conversion error); every row is behind it
          expect(got!.late).toBe(rows.filter((r) => r.ts !== null).length);
          continue;
        }
        expect({ wN, ...sorted(got!) }).toEqual({ wN, ...sorted(await viaSql(t, 'ts', wN)) });
      }
    });
  }

  it('reads sliced tables (non-zero Data offsets in values, offsets and validity)', async () => {
    const rows: Row[] = Array.from({ length: 40 }, (_, i) => ({
      topic: `t${i % 2}`,
      partition: i % 3,
      ts: i % 7 === 0 ? null : BigInt((i * 7919) % 50) * 1000n - 20_000n,
    }));
    const whole = sourceTable(new arrow.Timestamp(US), [rows]);
    for (const [from, to] of [
      [3, 29],
      [9, 40],
      [13, 14],
    ] as const) {
      const t = whole.slice(from, to);
      expect(t.batches[0]!.data.children[3]!.offset).toBe(from);
      expect(sorted(eventTimeStatsFromArrow(t, 'ts', -5)!)).toEqual(sorted(await viaSql(t, 'ts', -5)));
    }
  });

  it('finds the column as DuckDB binds it (case-insensitively) and refuses what it cannot promise', async () => {
    const rows: Row[] = [{ topic: 'a', partition: 0, ts: 5_000n }];
    const t = sourceTable(new arrow.Timestamp(US), [rows], 'EventTime');
    expect(sorted(eventTimeStatsFromArrow(t, 'eventtime', 6)!)).toEqual({ maxima: [['a:0', 5]], late: 1 });
    expect(sorted(await viaSql(t, 'eventtime', 6))).toEqual({ maxima: [['a:0', 5]], late: 1 });
    expect(eventTimeStatsFromArrow(t, 'missing', null)).toBeUndefined();
    // a time zone would make the watermark comparison depend on the session's TimeZone
    expect(eventTimeStatsFromArrow(sourceTable(new arrow.Timestamp(US, 'UTC'), [rows]), 'ts', null)).toBeUndefined();
    // not a timestamp
    expect(eventTimeStatsFromArrow(t, 'v', null)).toBeUndefined();
  });
});
