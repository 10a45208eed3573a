/**
 * Cases of Spark's WindowOperationsSuite (batch interval 1 s; window 2 s, slide 1 s unless given): Spark's inputs
 * and expected outputs, in SQL and JS forms.
 */
import { describe, expect, it } from 'vitest';
import type { DStream } from '../../src/dstream/dstream.js';
import { seconds } from '../../src/util/duration.js';
import { sql } from '../../src/dstream/sql.js';
import { norm, rows, runCase } from './harness.js';

const xs = (...v: number[]) => v.map((x) => ({ x }));
const kv = (...pairs: [string, number][]) => pairs.map(([k, v]) => ({ k, v }));
const plus = (a: unknown, b: unknown) => (a as number) + (b as number);
const minus = (a: unknown, b: unknown) => (a as number) - (b as number);

/** Spark's testOperation: numBatches = expected outputs × (slide / batch interval). */
async function check(
  input: (readonly object[])[],
  schema: string,
  forms: Record<string, (s: DStream) => DStream>,
  expected: Record<string, unknown>[][],
  slide = 1,
) {
  for (const [form, operation] of Object.entries(forms)) {
    const out = await runCase({ schema, input, operation, numBatches: expected.length * slide });
    expect(norm(out), form).toEqual(norm(expected));
  }
}

const largerSlideInput = [kv(['a', 1]), kv(['a', 2]), kv(['a', 3]), kv(['a', 4]), kv(['a', 5]), kv(['a', 6]), [], []];
const largerSlideReduceOutput = [[['a', 3]], [['a', 10]], [['a', 18]], [['a', 11]]];
const bigInput = [
  kv(['a', 1]),
  kv(['a', 1], ['b', 1]),
  kv(['a', 1], ['b', 1], ['c', 1]),
  kv(['a', 1], ['b', 1]),
  kv(['a', 1]),
  [],
  kv(['a', 1]),
  kv(['a', 1], ['b', 1]),
  kv(['a', 1], ['b', 1], ['c', 1]),
  kv(['a', 1], ['b', 1]),
  kv(['a', 1]),
  [],
];
const bigReduceOutput = [
  [['a', 1]],
  [
    ['a', 2],
    ['b', 1],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 1],
  ],
  [['a', 1]],
  [['a', 1]],
  [
    ['a', 2],
    ['b', 1],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 1],
  ],
  [['a', 1]],
];
const bigReduceInvOutput = [
  [['a', 1]],
  [
    ['a', 2],
    ['b', 1],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 1],
    ['c', 0],
  ],
  [
    ['a', 1],
    ['b', 0],
    ['c', 0],
  ],
  [
    ['a', 1],
    ['b', 0],
    ['c', 0],
  ],
  [
    ['a', 2],
    ['b', 1],
    ['c', 0],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 2],
    ['c', 1],
  ],
  [
    ['a', 2],
    ['b', 1],
    ['c', 0],
  ],
  [
    ['a', 1],
    ['b', 0],
    ['c', 0],
  ],
];
const bigGroupByOutput = [
  [['a', [1]]],
  [
    ['a', [1, 1]],
    ['b', [1]],
  ],
  [
    ['a', [1, 1]],
    ['b', [1, 1]],
    ['c', [1]],
  ],
  [
    ['a', [1, 1]],
    ['b', [1, 1]],
    ['c', [1]],
  ],
  [
    ['a', [1, 1]],
    ['b', [1]],
  ],
  [['a', [1]]],
  [['a', [1]]],
  [
    ['a', [1, 1]],
    ['b', [1]],
  ],
  [
    ['a', [1, 1]],
    ['b', [1, 1]],
    ['c', [1]],
  ],
  [
    ['a', [1, 1]],
    ['b', [1, 1]],
    ['c', [1]],
  ],
  [
    ['a', [1, 1]],
    ['b', [1]],
  ],
  [['a', [1]]],
];

describe.concurrent("Spark's WindowOperationsSuite", () => {
  const zeroToFive = [xs(0), xs(1), xs(2), xs(3), xs(4), xs(5)];
  it('window - basic window', () =>
    check(zeroToFive, 'x INTEGER', { sql: (s) => s.window(seconds(2), seconds(1)) }, rows(['x'], [[0], [0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])));
  it('window - tumbling window', () =>
    check(
      zeroToFive,
      'x INTEGER',
      { sql: (s) => s.window(seconds(2), seconds(2)) },
      rows(
        ['x'],
        [
          [0, 1],
          [2, 3],
          [4, 5],
        ],
      ),
      2,
    ));
  it('window - larger window', () =>
    check(
      zeroToFive,
      'x INTEGER',
      { sql: (s) => s.window(seconds(4), seconds(2)) },
      rows(
        ['x'],
        [
          [0, 1],
          [0, 1, 2, 3],
          [2, 3, 4, 5],
          [4, 5],
        ],
      ),
      2,
    ));
  it('window - non-overlapping window', () =>
    check(
      zeroToFive,
      'x INTEGER',
      { sql: (s) => s.window(seconds(2), seconds(3)) },
      rows(
        ['x'],
        [
          [1, 2],
          [4, 5],
        ],
      ),
      3,
    ));

  const naive = {
    sql: (s: DStream) => s.reduceByKeyAndWindow('k', sql`sum(v)`, seconds(2), seconds(1)),
    js: (s: DStream) => s.reduceByKeyAndWindow('k', plus, seconds(2), seconds(1)),
  };
  const naiveLarger = {
    sql: (s: DStream) => s.reduceByKeyAndWindow('k', sql`sum(v)`, seconds(4), seconds(2)),
    js: (s: DStream) => s.reduceByKeyAndWindow('k', plus, seconds(4), seconds(2)),
  };
  const inv = {
    sql: (s: DStream) => s.reduceByKeyAndWindow('k', sql`sum(v)`, seconds(2), seconds(1), { inverse: sql`a - b` }),
    js: (s: DStream) => s.reduceByKeyAndWindow('k', plus, seconds(2), seconds(1), { inverse: minus }),
  };
  const invLarger = {
    sql: (s: DStream) => s.reduceByKeyAndWindow('k', sql`sum(v)`, seconds(4), seconds(2), { inverse: sql`a - b` }),
    js: (s: DStream) => s.reduceByKeyAndWindow('k', plus, seconds(4), seconds(2), { inverse: minus }),
  };
  const S = 'k VARCHAR, v INTEGER';

  for (const [label, forms] of [
    ['', naive],
    [' with inverse function', inv],
  ] as const) {
    it(`reduceByKeyAndWindow${label} - basic reduction`, () => check([kv(['a', 1], ['a', 3])], S, forms, rows(['k', 'v'], [[['a', 4]]])));
    it(`reduceByKeyAndWindow${label} - key already in window and new value added into window`, () =>
      check([kv(['a', 1]), kv(['a', 1])], S, forms, rows(['k', 'v'], [[['a', 1]], [['a', 2]]])));
    it(`reduceByKeyAndWindow${label} - new key added into window`, () =>
      check(
        [kv(['a', 1]), kv(['a', 1], ['b', 1])],
        S,
        forms,
        rows(
          ['k', 'v'],
          [
            [['a', 1]],
            [
              ['a', 2],
              ['b', 1],
            ],
          ],
        ),
      ));
  }
  it('reduceByKeyAndWindow - key removed from window', () =>
    check([kv(['a', 1]), kv(['a', 1]), [], []], S, naive, rows(['k', 'v'], [[['a', 1]], [['a', 2]], [['a', 1]], []])));
  it('reduceByKeyAndWindow with inverse function - key removed from window', () =>
    check([kv(['a', 1]), kv(['a', 1]), [], []], S, inv, rows(['k', 'v'], [[['a', 1]], [['a', 2]], [['a', 1]], [['a', 0]]])));
  it('reduceByKeyAndWindow - larger slide time', () => check(largerSlideInput, S, naiveLarger, rows(['k', 'v'], largerSlideReduceOutput), 2));
  it('reduceByKeyAndWindow with inverse function - larger slide time', () =>
    check(largerSlideInput, S, invLarger, rows(['k', 'v'], largerSlideReduceOutput), 2));
  it('reduceByKeyAndWindow - big test', () => check(bigInput, S, naive, rows(['k', 'v'], bigReduceOutput)));
  it('reduceByKeyAndWindow with inverse function - big test', () => check(bigInput, S, inv, rows(['k', 'v'], bigReduceInvOutput)));
  it('reduceByKeyAndWindow with inverse and filter functions - big test', () =>
    check(
      bigInput,
      S,
      {
        sql: (s) => s.reduceByKeyAndWindow('k', sql`sum(v)`, seconds(2), seconds(1), { inverse: sql`a - b`, filter: sql`v <> 0` }),
        js: (s) => s.reduceByKeyAndWindow('k', plus, seconds(2), seconds(1), { inverse: minus, filter: (r) => r['v'] !== 0 }),
      },
      rows(['k', 'v'], bigReduceOutput),
    ));
  it('groupByKeyAndWindow', () =>
    check(
      bigInput,
      S,
      { sql: (s) => s.groupByKeyAndWindow('k', seconds(2), seconds(1)).map(sql`k, list_distinct(v) AS v`) },
      rows(
        ['k', 'v'],
        bigGroupByOutput.map((b) => b.map(([k, v]) => [k, [...new Set(v as number[])]])),
      ),
    ));
  it('countByWindow', () =>
    check(
      [xs(1), xs(1), xs(1, 2), xs(0), [], []],
      'x INTEGER',
      { sql: (s) => s.countByWindow(seconds(2), seconds(1)) },
      rows(['count'], [[1], [2], [3], [3], [1], [0]]),
    ));
  it('countByValueAndWindow', () =>
    check(
      [[{ w: 'a' }], [{ w: 'b' }, { w: 'b' }], [{ w: 'a' }, { w: 'b' }]],
      'w VARCHAR',
      { sql: (s) => s.countByValueAndWindow(seconds(2), seconds(1)) },
      rows(
        ['w', 'count'],
        [
          [['a', 1]],
          [
            ['a', 1],
            ['b', 2],
          ],
          [
            ['a', 1],
            ['b', 3],
          ],
        ],
      ),
    ));
  it('reduceByWindow', () =>
    check(
      [xs(1), xs(2, 3), [], xs(4)],
      'x INTEGER',
      { sql: (s) => s.reduceByWindow(sql`sum(x)`, seconds(2), seconds(1)), js: (s) => s.reduceByWindow(plus, seconds(2), seconds(1)) },
      rows(['x'], [[1], [6], [5], [4]]),
    ));

  it('refuses a window that is not a multiple of the batch interval, saying how to fix it', async () => {
    await expect(runCase({ schema: 'x INTEGER', input: [xs(1)], operation: (s) => s.window(seconds(2.5), seconds(1)) })).rejects.toThrow(
      /window length 2500 ms is not a multiple of the batch interval 1 s[\s\S]*fix: use a multiple of 1 s/,
    );
    await expect(runCase({ schema: 'x INTEGER', input: [xs(1)], operation: (s) => s.window(seconds(2), seconds(2)).union(s) })).rejects.toThrow(
      /slide differently/,
    );
  });
});
