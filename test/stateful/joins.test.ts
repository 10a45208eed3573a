/**
 * Stream–stream joins without an event-time bound: the regular inner join (append; each batch emits exactly the
 * new result rows) and aggregates over a join (update / complete). Exact outputs per batch, crash and replay,
 * what is kept in state, and the refusals.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolStep } from '../../src/driver/driver.js';
import { oracle } from '../support/oracle.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { AddData, Assert, CheckAnswer, CrashAt, ExpectFailure, RunBatch, StartStream, canonical, testStream, type Action } from '../support/stream-test.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ev = (sec: number, usr: string, price: number) => ({ ts: new Date(T0 + sec * 1000).toISOString(), usr, price });
const SOURCE = (name: string) =>
  `CREATE SOURCE ${name} WITH (connector = 'log', path = '\${dir}/logs/${name}', format = 'json', schema = 'ts TIMESTAMP, usr VARCHAR, price INTEGER', event_time = 'ts', watermark = '5 seconds');`;
const TWO = `${SOURCE('ev')} ${SOURCE('other')}`;
const COLUMNS = `{ts: 'TIMESTAMP', usr: 'VARCHAR', price: 'INTEGER'}`;

/** Rows per batch for ev and other; every match below is spelled out in the tests' comments. */
const BATCHES = [
  { ev: [ev(1, 'a', 1), ev(2, 'b', 2)], other: [ev(1, 'c', 10)] },
  { ev: [], other: [ev(3, 'a', 20), ev(4, 'a', 30)] },
  { ev: [ev(5, 'a', 3), ev(5, 'c', 4)], other: [ev(6, 'b', 40)] },
  { ev: [ev(7, 'a', 5)], other: [ev(7, 'a', 50)] },
];
const ALL = { ev: { columns: COLUMNS, rows: BATCHES.flatMap((b) => b.ev) }, other: { columns: COLUMNS, rows: BATCHES.flatMap((b) => b.other) } };
const feed = (b: (typeof BATCHES)[number]): Action[] => [
  ...(b.ev.length ? [AddData('ev', 0, ...b.ev)] : []),
  ...(b.other.length ? [AddData('other', 0, ...b.other)] : []),
];
const emitted = (ctx: { progress: { sinks: { numOutputRows: number }[] }[] }) => ctx.progress.map((p) => p.sinks[0]?.numOutputRows ?? 0);

describe('regular (unbounded) stream–stream inner join, append mode', () => {
  const query = `SELECT a.usr, a.price AS pa, b.price AS pb FROM ev a JOIN other b ON a.usr = b.usr`;

  it('each batch emits exactly the new matches, whichever side arrives first; the union equals the batch query', async () => {
    const expected = await oracle(query, ALL);
    const ctx = await testStream(
      { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS ${query};` },
      StartStream(),
      ...BATCHES.flatMap((b) => [...feed(b), RunBatch(b.ev.length + b.other.length)]),
      CheckAnswer('j', expected),
    );
    // b0: nothing matches. b1: a1 × {20, 30}. b2: a3 × {20, 30}, c4 × 10, b2 × 40. b3: a5 × {20, 30, 50}, {a1, a3} × 50.
    expect(emitted(ctx)).toEqual([0, 2, 4, 5]);
    expect(expected).toHaveLength(11);
    // No watermark bound: every row stays (only the columns the query reads).
    expect(ctx.progress.at(-1)!.stateRows).toBe(ALL.ev.rows.length + ALL.other.rows.length);
    expect(ctx.progress.at(-1)!.stateOperators[0]!.operator).toBe('stream–stream join (unbounded)');
  });

  it('sources that declare their columns as a list after the name count as declared (same answer as with schema = …)', async () => {
    const listed = (name: string) =>
      `CREATE SOURCE ${name} (ts TIMESTAMP, usr VARCHAR, price INTEGER) WITH (connector = 'log', path = '\${dir}/logs/${name}', format = 'json', event_time = 'ts', watermark = '5 seconds');`;
    const expected = await oracle(query, ALL);
    const ctx = await testStream(
      { logs: { ev: 1, other: 1 }, sql: `${listed('ev')} ${listed('other')} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS ${query};` },
      StartStream(),
      ...BATCHES.flatMap((b) => [...feed(b), RunBatch(b.ev.length + b.other.length)]),
      CheckAnswer('j', expected),
    );
    expect(emitted(ctx)).toEqual([0, 2, 4, 5]);
  });

  it('a self-join keeps one state per reference, with the filters that read that reference alone pushed into it', async () => {
    const self = `SELECT a.usr, a.price AS p1, b.price AS p2 FROM ev a, ev b WHERE a.usr = b.usr AND a.price < b.price AND b.price > 2`;
    const rows = BATCHES.map((b) => b.ev);
    const expected = await oracle(self, { ev: ALL.ev });
    const ctx = await testStream(
      { logs: { ev: 1 }, sql: `${SOURCE('ev')} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS ${self};` },
      StartStream(),
      ...rows.flatMap((b) => (b.length ? [AddData('ev', 0, ...b), RunBatch(b.length)] : [])),
      CheckAnswer('j', expected),
    );
    // a: (a1, a3, a5) pairs with p1 < p2: (1,3), (1,5), (3,5); c4 has no partner; b2 none.
    expect(expected).toHaveLength(3);
    expect(emitted(ctx)).toEqual([0, 1, 2]);
    // Reference a keeps all 5 rows, reference b only those with price > 2 (3, 4, 5).
    expect(ctx.progress.at(-1)!.stateRows).toBe(5 + 3);
  });

  it('DISTINCT over an inner join in append mode: each new distinct row once (inner join rows are final)', async () => {
    const distinct = `SELECT DISTINCT a.usr FROM ev a JOIN other b ON a.usr = b.usr`;
    const expected = await oracle(distinct, ALL);
    const ctx = await testStream(
      { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK d WITH (connector = 'parquet', path = '\${dir}/out/d') AS ${distinct};` },
      StartStream(),
      ...BATCHES.flatMap((b) => [...feed(b), RunBatch(b.ev.length + b.other.length)]),
      CheckAnswer('d', expected),
    );
    expect(emitted(ctx)).toEqual([0, 1, 2, 0]); // a in b1; b and c in b2
  });

  const steps: [ProtocolStep, string | undefined][] = [
    ['offsetLogWritten', undefined],
    ['read', undefined],
    ['stateCommitted', undefined],
    ['sinkWritten', 'j'],
    ['sinksWritten', undefined],
    ['commitLogWritten', undefined],
  ];
  for (const [step, sink] of steps) {
    it(`crash after ${step} in batch 2: output identical to a run without crashes`, async () => {
      const expected = await oracle(query, ALL);
      const n = (i: number) => BATCHES[i]!.ev.length + BATCHES[i]!.other.length;
      const ctx = await testStream(
        { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS ${query};` },
        StartStream(),
        ...feed(BATCHES[0]!),
        RunBatch(n(0)),
        ...feed(BATCHES[1]!),
        RunBatch(n(1)),
        ...feed(BATCHES[2]!),
        CrashAt(step, sink),
        RunBatch(),
        StartStream(),
        RunBatch(step === 'commitLogWritten' ? undefined : n(2)), // batch 2 again, unless it had committed
        ...feed(BATCHES[3]!),
        RunBatch(n(3)),
        CheckAnswer('j', expected),
      );
      expect(ctx.progress.at(-1)!.sinks[0]!.numOutputRows).toBe(5);
    });
  }
});

describe('aggregates over a stream–stream join', () => {
  const query = `SELECT a.usr, count(*) AS n, max(b.price) AS mx FROM ev a JOIN other b ON a.usr = b.usr GROUP BY a.usr`;

  for (const mode of ['update', 'complete'] as const) {
    it(`${mode} mode: ${mode === 'update' ? 'the groups that changed' : 'the whole result'} each batch; the last version per key equals the batch query`, async () => {
      const expected = await oracle(query, ALL);
      const ctx = await testStream(
        { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK g WITH (connector = 'jsonl', path = '\${dir}/out/g', output_mode = '${mode}') AS ${query};` },
        StartStream(),
        ...BATCHES.flatMap((b) => [...feed(b), RunBatch(b.ev.length + b.other.length)]),
        Assert('latest version per key', async (c) => {
          const e = await Engine.open();
          try {
            const latest = await e.allJson(
              `SELECT usr, n, mx FROM read_json_auto(${literal(`${c.dir}/out/g/*.jsonl`)}, filename = true) QUALIFY row_number() OVER (PARTITION BY usr ORDER BY filename DESC) = 1`,
            );
            expect(canonical(latest)).toEqual(canonical(expected));
          } finally {
            e.close();
          }
        }),
      );
      // Per batch: b1 a = (2, 30); b2 a = (4, 30), b = (1, 40), c = (1, 10); b3 a = (9, 50).
      expect(emitted(ctx)).toEqual(mode === 'update' ? [0, 1, 3, 1] : [0, 1, 3, 3]);
      expect(ctx.progress.at(-1)!.stateOperators[0]!.operator).toBe(`running aggregate ${mode} over a stream–stream join (folded)`);
    });
  }
});

describe('joins bounded by event-time conjuncts (a column bound, as Nexmark q4: b.ts BETWEEN a.ts AND a.expires)', () => {
  // Batch k: an ev row at 2k s lasting 1–4 s (price), the other row for batch k−1's ev row (arrives one batch later),
  // and for user x an other row that arrives one batch before its (out-of-order, on-time) ev row.
  const N = 30;
  const batches = Array.from({ length: N }, (_, k) => ({
    ev: [ev(2 * k, `u${k % 3}`, 1 + (k % 4)), ...(k > 0 ? [ev(2 * k - 1.75, 'x', 2)] : [])],
    other: [...(k > 0 ? [ev(2 * k - 1, `u${(k - 1) % 3}`, 10 * k)] : []), ev(2 * k + 0.5, 'x', 7 + k)],
  }));
  const all = { ev: { columns: COLUMNS, rows: batches.flatMap((b) => b.ev) }, other: { columns: COLUMNS, rows: batches.flatMap((b) => b.other) } };
  const on = `a.usr = b.usr AND b.ts BETWEEN a.ts AND a.ts + a.price * INTERVAL '1 second'`;
  const lateRows = (ctx: { progress: { numRowsDroppedByWatermark: number }[] }) => ctx.progress.reduce((n, p) => n + p.numRowsDroppedByWatermark, 0);

  it('append: a regular join whose kept rows leave once the watermark passes their bound; the union equals the batch query', async () => {
    const query = `SELECT a.usr, a.ts AS ats, b.price AS pb FROM ev a JOIN other b ON ${on}`;
    const expected = await oracle(query, all);
    const ctx = await testStream(
      { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK j WITH (connector = 'parquet', path = '\${dir}/out/j') AS ${query};` },
      StartStream(),
      ...batches.flatMap((b) => [...feed(b), RunBatch(b.ev.length + b.other.length)]),
      CheckAnswer('j', expected),
    );
    expect(lateRows(ctx)).toBe(0);
    expect(expected.length).toBeGreaterThan(N);
    expect(ctx.progress.at(-1)!.stateOperators[0]!.operator).toBe('stream–stream join (bounded by event-time conjuncts)');
    expect(Math.max(...ctx.progress.map((p) => p.stateRows))).toBeLessThanOrEqual(16); // of 4N rows in all
  });

  it('update: max and count per user folded per group; join inputs bounded; the last version per key equals the batch query', async () => {
    const query = `SELECT a.usr, max(b.price) AS mx, count(*) AS n, sum(b.price) AS total FROM ev a JOIN other b ON ${on} GROUP BY a.usr`;
    const expected = await oracle(query, all);
    const ctx = await testStream(
      { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK g WITH (connector = 'jsonl', path = '\${dir}/out/g', output_mode = 'update') AS ${query};` },
      StartStream(),
      ...batches.flatMap((b) => [...feed(b), RunBatch(b.ev.length + b.other.length)]),
      Assert('latest version per key', async (c) => {
        const e = await Engine.open();
        try {
          const latest = await e.allJson(
            `SELECT usr, mx, n, total FROM read_json_auto(${literal(`${c.dir}/out/g/*.jsonl`)}, filename = true) QUALIFY row_number() OVER (PARTITION BY usr ORDER BY filename DESC) = 1`,
          );
          expect(canonical(latest)).toEqual(canonical(expected));
        } finally {
          e.close();
        }
      }),
    );
    expect(lateRows(ctx)).toBe(0);
    expect(ctx.progress.at(-1)!.stateOperators[0]!.operator).toBe('running aggregate update over a stream–stream join (folded, inputs bounded by event time)');
    // Join inputs still in reach, plus one group row and one previous result row per user (4 users).
    expect(Math.max(...ctx.progress.map((p) => p.stateRows))).toBeLessThanOrEqual(16 + 8);
  });

  for (const step of ['read', 'stateCommitted', 'sinksWritten'] as const) {
    it(`update, folded: a crash after ${step} in batch 5 and a restart give the output of a run without crashes`, async () => {
      const query = `SELECT a.usr, max(b.price) AS mx, count(*) AS n FROM ev a JOIN other b ON ${on} GROUP BY a.usr`;
      const expected = await oracle(query, all);
      const run = (b: (typeof batches)[number]) => [...feed(b), RunBatch(b.ev.length + b.other.length)];
      const ctx = await testStream(
        { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK g WITH (connector = 'parquet', path = '\${dir}/out/g', output_mode = 'update') AS ${query};` },
        StartStream(),
        ...batches.slice(0, 5).flatMap(run),
        ...feed(batches[5]!),
        CrashAt(step),
        RunBatch(),
        StartStream(),
        RunBatch(batches[5]!.ev.length + batches[5]!.other.length),
        ...batches.slice(6).flatMap(run),
        Assert('latest version per key', async (c) => {
          const e = await Engine.open();
          try {
            const latest = await e.allJson(
              `SELECT usr, mx, n FROM read_parquet(${literal(`${c.dir}/out/g/*.parquet`)}, filename = true) QUALIFY row_number() OVER (PARTITION BY usr ORDER BY filename DESC) = 1`,
            );
            expect(canonical(latest)).toEqual(canonical(expected));
          } finally {
            e.close();
          }
        }),
      );
      expect(ctx.progress.map((p) => p.batchId)).toEqual(Array.from({ length: N }, (_, i) => i));
    });
  }

  it('an aggregate that does not fold (avg) re-evaluates the query over all kept rows, with the same result', async () => {
    const query = `SELECT a.usr, avg(b.price) AS av FROM ev a JOIN other b ON ${on} GROUP BY a.usr`;
    const expected = await oracle(query, all);
    const ctx = await testStream(
      { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK g WITH (connector = 'jsonl', path = '\${dir}/out/g', output_mode = 'complete') AS ${query};` },
      StartStream(),
      ...batches.flatMap((b) => [...feed(b), RunBatch(b.ev.length + b.other.length)]),
      Assert('last batch is the whole result', async (c) => {
        const e = await Engine.open();
        try {
          const last = await e.allJson(
            `SELECT usr, av FROM read_json_auto(${literal(`${c.dir}/out/g/*.jsonl`)}, filename = true) QUALIFY dense_rank() OVER (ORDER BY filename DESC) = 1`,
          );
          expect(canonical(last)).toEqual(canonical(expected));
        } finally {
          e.close();
        }
      }),
    );
    expect(ctx.progress.at(-1)!.stateOperators[0]!.operator).toBe('running aggregate complete over a stream–stream join');
    expect(ctx.progress.at(-1)!.stateRows).toBeGreaterThanOrEqual(all.ev.rows.length + all.other.rows.length);
  });
});

describe('refusals of stream–stream joins, at start, with the reason', () => {
  const cases: [string, string, string, RegExp][] = [
    [
      'a LEFT join without a time bound',
      `SELECT * FROM ev a LEFT JOIN other b ON a.usr = b.usr`,
      '',
      /LEFT OUTER join of streams without an event-time bound: a row without a partner may still find one later, so its NULL-padded row is never final \(no interval bound: its ON has no BETWEEN on event time\)/,
    ],
    [
      'a RIGHT join without a time bound',
      `SELECT * FROM ev a RIGHT JOIN other b ON a.usr = b.usr`,
      '',
      /RIGHT OUTER join of streams without an event-time bound/,
    ],
    ['a FULL join without a time bound', `SELECT * FROM ev a FULL JOIN other b ON a.usr = b.usr`, '', /FULL OUTER join of streams without an event-time bound/],
    [
      'a LEFT join bounded by a column, not an interval',
      `SELECT * FROM ev a LEFT JOIN other b ON a.usr = b.usr AND b.ts BETWEEN a.ts AND a.ts + a.price * INTERVAL '1 second'`,
      '',
      /LEFT OUTER join of streams without an event-time bound[\s\S]*its BETWEEN is not/,
    ],
    ['a semi join', `SELECT * FROM ev a SEMI JOIN other b ON a.usr = b.usr`, '', /SEMI joins of streams are not supported/],
    [
      'a UNION ALL of two streams (not linear in each: the delta rule would repeat rows)',
      `SELECT usr FROM ev UNION ALL SELECT usr FROM other`,
      '',
      /UNION of queries over several streams[\s\S]*fix: write one sink per branch/,
    ],
    ['a stream inside IN (subquery)', `SELECT * FROM ev WHERE usr IN (SELECT usr FROM other)`, '', /a stream read inside a subquery expression/],
    [
      'a join in update mode without aggregation',
      `SELECT a.usr, b.price FROM ev a JOIN other b ON a.usr = b.usr`,
      `, output_mode = 'update'`,
      /a stream–stream join without aggregation supports output_mode = 'append' only \(got 'update'\)/,
    ],
    [
      'DISTINCT over an outer join in append mode',
      `SELECT DISTINCT a.usr, b.price FROM ev a LEFT JOIN other b ON a.usr = b.usr`,
      '',
      /DISTINCT in append mode over this join: LEFT OUTER join of streams without an event-time bound/,
    ],
    [
      'an aggregate over a join in append mode',
      `SELECT a.usr, count(*) FROM ev a JOIN other b ON a.usr = b.usr GROUP BY a.usr`,
      '',
      /over the whole stream \(here over a stream–stream join\): its result rows keep changing/,
    ],
  ];
  for (const [what, query, options, message] of cases) {
    it(what, async () => {
      await testStream(
        { logs: { ev: 1, other: 1 }, sql: `${TWO} CREATE SINK s WITH (connector = 'console'${options}) AS ${query};` },
        ExpectFailure(message, StartStream()),
      );
    });
  }
  it('a join of a stream whose schema is inferred (its columns are unknown until its first record)', async () => {
    const inferred = `CREATE SOURCE other WITH (connector = 'log', path = '\${dir}/logs/other', format = 'json', event_time = 'ts', watermark = '5 seconds');`;
    await testStream(
      {
        logs: { ev: 1, other: 1 },
        sql: `${SOURCE('ev')} ${inferred} CREATE SINK s WITH (connector = 'console') AS SELECT a.usr FROM ev a JOIN other b ON a.usr = b.usr;`,
      },
      ExpectFailure(
        /sink 's' joins ev, other, but source 'other' has no declared schema[\s\S]*fix: declare it: CREATE SOURCE other WITH \(…, schema = /,
        StartStream(),
      ),
    );
  });
});
