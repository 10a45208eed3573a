/**
 * Cases of Spark's BasicOperationsSuite (streaming/src/test/scala/org/apache/spark/streaming/): the inputs per
 * batch and the expected outputs per batch are Spark's. Every case runs in its SQL form and its JS form, which
 * must both give Spark's output.
 */
import { describe, expect, it } from 'vitest';
import type { DStream } from '../../src/dstream/dstream.js';
import { sql } from '../../src/dstream/sql.js';
import { norm, rows, runCase } from './harness.js';

const ints = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ x: from + i }));
const words = (...ws: string[]) => ws.map((w) => ({ w }));
const nums = (a: unknown, b: unknown) => (a as number) + (b as number);

async function check(
  input: (readonly object[])[],
  schema: string,
  forms: Record<string, (s: DStream) => DStream>,
  expected: Record<string, unknown>[][],
  sortLists = true,
) {
  for (const [form, operation] of Object.entries(forms)) {
    const out = await runCase({ schema, input, operation });
    expect(norm(out, { sortLists }), form).toEqual(norm(expected, { sortLists }));
  }
}

describe.concurrent("Spark's BasicOperationsSuite", () => {
  it('map', () =>
    check(
      [ints(1, 4), ints(5, 8), ints(9, 12)],
      'x INTEGER',
      { sql: (s) => s.map(sql`x::VARCHAR AS s`), js: (s) => s.map((r) => ({ s: String(r['x']) }), 's VARCHAR') },
      rows(
        ['s'],
        [
          ['1', '2', '3', '4'],
          ['5', '6', '7', '8'],
          ['9', '10', '11', '12'],
        ],
      ),
    ));

  it('flatMap', () =>
    check(
      [ints(1, 4), ints(5, 8), ints(9, 12)],
      'x INTEGER',
      {
        sql: (s) => s.flatMap(sql`unnest([x, x * 2]) AS x`),
        js: (s) => s.flatMap((r) => [{ x: r['x'] as number }, { x: (r['x'] as number) * 2 }], 'x INTEGER'),
      },
      rows(
        ['x'],
        [
          [1, 2, 2, 4, 3, 6, 4, 8],
          [5, 10, 6, 12, 7, 14, 8, 16],
          [9, 18, 10, 20, 11, 22, 12, 24],
        ],
      ),
    ));

  it('filter', () =>
    check(
      [ints(1, 4), ints(5, 8), ints(9, 12)],
      'x INTEGER',
      { sql: (s) => s.filter(sql`x % 2 = 0`), js: (s) => s.filter((r) => (r['x'] as number) % 2 === 0) },
      rows(
        ['x'],
        [
          [2, 4],
          [6, 8],
          [10, 12],
        ],
      ),
    ));

  it('count (0 for an empty batch)', () =>
    check([[], ints(1, 1), ints(1, 2), ints(1, 3), ints(1, 4)], 'x INTEGER', { sql: (s) => s.count() }, rows(['count'], [[0], [1], [2], [3], [4]])));

  it('countByValue', () =>
    check(
      [ints(1, 1), [{ x: 1 }, { x: 1 }, { x: 1 }], ints(1, 2), [{ x: 1 }, { x: 1 }, { x: 2 }, { x: 2 }]],
      'x INTEGER',
      { sql: (s) => s.countByValue() },
      rows(
        ['x', 'count'],
        [
          [[1, 1]],
          [[1, 3]],
          [
            [1, 1],
            [2, 1],
          ],
          [
            [2, 2],
            [1, 2],
          ],
        ],
      ),
    ));

  it('reduce', () =>
    check(
      [ints(1, 4), ints(5, 8), ints(9, 12)],
      'x INTEGER',
      { sql: (s) => s.reduce(sql`sum(x)`), js: (s) => s.reduce(nums) },
      rows(['x'], [[10], [26], [42]]),
    ));

  it('reduceByKey', () =>
    check(
      [words('a', 'a', 'b'), words('', ''), []],
      'w VARCHAR',
      {
        sql: (s) => s.map(sql`w, 1 AS n`).reduceByKey('w', sql`sum(n)`),
        js: (s) => s.map((r) => ({ w: r['w'], n: 1 }), 'w VARCHAR, n INTEGER').reduceByKey('w', nums),
      },
      rows(
        ['w', 'n'],
        [
          [
            ['a', 2],
            ['b', 1],
          ],
          [['', 2]],
          [],
        ],
      ),
    ));

  it('groupByKey', () =>
    check(
      [words('a', 'a', 'b'), words('', ''), []],
      'w VARCHAR',
      { sql: (s) => s.map(sql`w, 1 AS n`).groupByKey('w') },
      rows(
        ['w', 'n'],
        [
          [
            ['a', [1, 1]],
            ['b', [1]],
          ],
          [['', [1, 1]]],
          [],
        ],
      ),
    ));

  it('union', () =>
    check(
      [ints(1, 4), ints(101, 104), ints(201, 204)],
      'x INTEGER',
      { sql: (s) => s.union(s.map(sql`x + 4 AS x`)), js: (s) => s.union(s.map((r) => ({ x: (r['x'] as number) + 4 }), 'x INTEGER')) },
      rows(['x'], [ints(1, 8).map((r) => r.x), ints(101, 108).map((r) => r.x), ints(201, 208).map((r) => r.x)]),
    ));

  it('transform', () =>
    check(
      [ints(1, 4), ints(5, 8), ints(9, 12)],
      'x INTEGER',
      {
        sql: (s) => s.transform((b) => sql`SELECT x::VARCHAR AS s FROM ${b}`),
        js: (s) => s.transformRows((rs) => rs.map((r) => ({ s: String(r['x']) })), 's VARCHAR'),
      },
      rows(
        ['s'],
        [
          ['1', '2', '3', '4'],
          ['5', '6', '7', '8'],
          ['9', '10', '11', '12'],
        ],
      ),
    ));

  // Two-input cases: both inputs travel in one log, tagged with their side.
  const twoSides = (a: string[][], b: string[][]) => a.map((batch, i) => [...batch.map((w) => ({ side: 1, w })), ...(b[i] ?? []).map((w) => ({ side: 2, w }))]);
  const side1 = (s: DStream) => s.filter(sql`side = 1`).map(sql`w, 1 AS n`);
  const side2 = (s: DStream) => s.filter(sql`side = 2`).map(sql`w, 'x' AS x`);

  it('cogroup', () =>
    check(
      twoSides([['a', 'a', 'b'], ['a', ''], [''], []], [['a', 'a', 'b'], ['b', ''], [], []]),
      'side INTEGER, w VARCHAR',
      { sql: (s) => side1(s).cogroup(side2(s), 'w') },
      rows(
        ['w', 'n', 'x'],
        [
          [
            ['a', [1, 1], ['x', 'x']],
            ['b', [1], ['x']],
          ],
          [
            ['a', [1], []],
            ['b', [], ['x']],
            ['', [1], ['x']],
          ],
          [['', [1], []]],
          [],
        ],
      ),
    ));

  it('join', () =>
    check(
      twoSides([['a', 'b'], ['a', ''], [''], []], [['a', 'b'], ['b', ''], [], ['']]),
      'side INTEGER, w VARCHAR',
      { sql: (s) => side1(s).join(side2(s), 'w') },
      rows(
        ['w', 'n', 'x'],
        [
          [
            ['a', 1, 'x'],
            ['b', 1, 'x'],
          ],
          [['', 1, 'x']],
          [],
          [],
        ],
      ),
    ));

  it('leftOuterJoin', () =>
    check(
      twoSides([['a', 'b'], ['a', ''], [''], []], [['a', 'b'], ['b', ''], [], ['']]),
      'side INTEGER, w VARCHAR',
      { sql: (s) => side1(s).leftOuterJoin(side2(s), 'w') },
      rows(
        ['w', 'n', 'x'],
        [
          [
            ['a', 1, 'x'],
            ['b', 1, 'x'],
          ],
          [
            ['', 1, 'x'],
            ['a', 1, null],
          ],
          [['', 1, null]],
          [],
        ],
      ),
    ));

  it('rightOuterJoin', () =>
    check(
      twoSides([['a', 'b'], ['a', ''], [''], []], [['a', 'b'], ['b', ''], [], ['']]),
      'side INTEGER, w VARCHAR',
      { sql: (s) => side1(s).rightOuterJoin(side2(s), 'w') },
      rows(
        ['w', 'n', 'x'],
        [
          [
            ['a', 1, 'x'],
            ['b', 1, 'x'],
          ],
          [
            ['', 1, 'x'],
            ['b', null, 'x'],
          ],
          [],
          [['', null, 'x']],
        ],
      ),
    ));

  it('fullOuterJoin', () =>
    check(
      twoSides([['a', 'b'], ['a', ''], [''], []], [['a', 'b'], ['b', ''], [], ['']]),
      'side INTEGER, w VARCHAR',
      { sql: (s) => side1(s).fullOuterJoin(side2(s), 'w') },
      rows(
        ['w', 'n', 'x'],
        [
          [
            ['a', 1, 'x'],
            ['b', 1, 'x'],
          ],
          [
            ['', 1, 'x'],
            ['a', 1, null],
            ['b', null, 'x'],
          ],
          [['', 1, null]],
          [['', null, 'x']],
        ],
      ),
    ));

  it('updateStateByKey', () =>
    check(
      [words('a'), words('a', 'b'), words('a', 'b', 'c'), words('a', 'b'), words('a'), []],
      'w VARCHAR',
      {
        sql: (s) => s.map(sql`w, 1 AS n`).updateStateByKey('w', sql`coalesce(list_sum(vals), 0) + coalesce(state, 0)`),
        js: (s) =>
          s.map(sql`w, 1 AS n`).updateStateByKey('w', (vals, state) => (vals as number[]).reduce((a, b) => a + b, 0) + ((state as number | undefined) ?? 0), {
            stateType: 'INTEGER',
          }),
      },
      rows(
        ['w', 'state'],
        [
          [['a', 1]],
          [
            ['a', 2],
            ['b', 1],
          ],
          [
            ['a', 3],
            ['b', 2],
            ['c', 1],
          ],
          [
            ['a', 4],
            ['b', 3],
            ['c', 1],
          ],
          [
            ['a', 5],
            ['b', 3],
            ['c', 1],
          ],
          [
            ['a', 5],
            ['b', 3],
            ['c', 1],
          ],
        ],
      ),
    ));

  it('updateStateByKey removes a key whose new state is NULL', () =>
    check(
      [words('a'), words('a', 'b'), [], []],
      'w VARCHAR',
      { sql: (s) => s.map(sql`w, 1 AS n`).updateStateByKey('w', sql`CASE WHEN len(vals) = 0 THEN NULL ELSE coalesce(state, 0) + len(vals) END`) },
      rows(
        ['w', 'state'],
        [
          [['a', 1]],
          [
            ['a', 2],
            ['b', 1],
          ],
          [],
          [],
        ],
      ),
    ));
});
