import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeRecords, storedSchema, type DecodeOptions } from '../../src/format/index.js';
import { RowsBuilder } from '../../src/format/shared/rows-builder.js';
import { parseSchemaText } from '../../src/source/schema.js';
import type { RawRecordBatch, SourceBatch } from '../../src/source/source.js';
import { rawBatch, viaIpc, type RawRecord } from './helpers.js';

/*
 * Decode-side projection (DecodeOptions.storedColumns): the pruned decode must give the unpruned decode's rows
 * restricted to the kept columns, and exactly its dead letters (same records, same order, same reasons), whichever
 * columns are kept, including records whose only defect lies in a column that is not stored.
 */

const SCHEMA = parseSchemaText('id BIGINT NOT NULL, n INTEGER, b BOOLEAN, s VARCHAR, t TIMESTAMP, dt DATE, d DOUBLE, j JSON, r VARCHAR NOT NULL');
const NAMES = SCHEMA.map((c) => c.name);

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** JSON records: most good, and a defect of every kind in every column (so some defect lies in whatever is pruned). */
function jsonRecords(count: number, seed: number): RawRecord[] {
  const random = prng(seed);
  const defects: Record<string, unknown>[] = [
    { n: 'twelve' },
    { n: 1.5 },
    { n: 2 ** 40 },
    { b: 'yes' },
    { s: 12 },
    { t: 'not a time' },
    { t: true },
    { dt: '2024-13-45' },
    { d: 'x' },
    { d: [1] },
    { id: null },
    { id: 'one' },
    { r: null },
    { s: 'esc\\u00e9\\n' },
    { j: { deep: [1, { a: null }] } },
    { t: 1_714_564_800_123 },
    { s: null, t: null, dt: null, d: null, j: null, n: null, b: null },
  ];
  return Array.from({ length: count }, (_, k) => {
    const plain: Record<string, unknown> = {
      id: k,
      n: k % 1000,
      b: k % 3 === 0,
      s: `s${k}é`,
      t: `2024-05-01T12:00:${String(k % 60).padStart(2, '0')}Z`,
      dt: '2024-02-29',
      d: k / 7,
      j: [k],
      r: `r${k}`,
    };
    const roll = random();
    let value: string | null;
    if (roll < 0.5) value = JSON.stringify(plain);
    else if (roll < 0.9) value = JSON.stringify({ ...plain, ...defects[Math.floor(random() * defects.length)]! }).replace('esc\\\\u00e9\\\\n', 'esc\\u00e9\\n');
    else if (roll < 0.93)
      value = JSON.stringify(Object.fromEntries(Object.entries(plain).filter(([key]) => key !== NAMES[Math.floor(random() * NAMES.length)])));
    else if (roll < 0.95) value = null;
    else if (roll < 0.97) value = '{"id": 1, "r": "x"';
    else value = '[1, 2]';
    return { value, key: k % 4 === 0 ? null : `k${k}` };
  });
}

function batches(records: readonly RawRecord[], per: number): RawRecordBatch[] {
  const out: RawRecordBatch[] = [];
  for (let at = 0, p = 0; at < records.length; at += per, p++)
    out.push(
      rawBatch(
        'events',
        p % 3,
        records.slice(at, at + per).map((r, i) => ({ ...r, offset: BigInt(at + i) })),
      ),
    );
  return out;
}

/** Every value of every row, in row order. */
function rows(table: arrow.Table, names: readonly string[]): unknown[][] {
  const out: unknown[][] = [];
  for (let i = 0; i < table.numRows; i++) out.push(names.map((n) => table.getChild(n)!.get(i)));
  return out;
}

const META = ['_topic', '_partition', '_offset', '_timestamp', '_key'];

function expectProjection(pruned: SourceBatch, full: SourceBatch, kept: readonly string[]): void {
  expect(pruned.table.schema.fields.map((f) => f.name)).toEqual([...META, ...kept]);
  expect(pruned.table.schema.fields.slice(5).map((f) => String(f.type))).toEqual(
    kept.map((k) => String(full.table.schema.fields.find((f) => f.name === k)!.type)),
  );
  expect(pruned.table.numRows).toBe(full.table.numRows);
  expect(rows(viaIpc(pruned.table), [...META, ...kept])).toEqual(rows(full.table, [...META, ...kept]));
  expect(pruned.deadLetters).toStrictEqual(full.deadLetters);
  expect(pruned.numRecords).toBe(full.numRecords);
}

describe('decodeRecords with storedColumns', () => {
  const records = jsonRecords(3000, 7);
  const input = batches(records, 700);
  const options: DecodeOptions = { format: 'json', schema: SCHEMA, maxValueBytes: 200 };
  const full = decodeRecords(input, options);

  it('the fixture has good rows and dead letters of many reasons', () => {
    expect(full.table.numRows).toBeGreaterThan(1500);
    expect(new Set(full.deadLetters.map((d) => d.reason.replace(/got .*/, ''))).size).toBeGreaterThan(10);
  });

  const subsets: [string, string[], string[]][] = [
    ['nothing', [], []],
    ['one column', ['t'], ['t']],
    ['two in another order, any case, with unknown names', ['S', 'id', 'window_start', 'b.x'], ['id', 's']],
    ['every other column', ['n', 's', 'dt', 'j'], ['n', 's', 'dt', 'j']],
    ['all but one', NAMES.filter((n) => n !== 'r'), NAMES.filter((n) => n !== 'r')],
    ['all', NAMES, NAMES],
  ];
  for (const [name, stored, kept] of subsets) {
    it(`keeps ${name}: same rows of the kept columns, same dead letters`, () => {
      expect(storedSchema({ schema: SCHEMA, storedColumns: stored }).map((c) => c.name)).toEqual(kept);
      expectProjection(decodeRecords(input, { ...options, storedColumns: stored }), full, kept);
    });
  }

  it('a record whose only defect is in a pruned column is a dead letter with the same reason', () => {
    const recs = [
      '{"id":1,"r":"a","t":"2024-05-01T00:00:00Z"}',
      '{"id":2,"r":"b","t":"yesterday"}',
      '{"id":3,"t":"2024-05-01T00:00:00Z"}',
      '{"id":4,"r":"d","n":"x"}',
      '{"id":5,"r":"e","j":{"a":1}}',
    ];
    const input1 = [rawBatch('events', 0, recs)];
    const pruned = decodeRecords(input1, { ...options, storedColumns: ['id'] });
    expect(pruned.deadLetters.map((d) => [d.offset, d.reason])).toEqual([
      [101n, `field 't': expected TIMESTAMP, got string "yesterday" (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)`],
      [102n, "missing required field 'r'"],
      [103n, `field 'n': expected INTEGER, got string "x"`],
    ]);
    expect(pruned.deadLetters).toStrictEqual(decodeRecords(input1, options).deadLetters);
    expect(pruned.table.getChild('id')!.toArray()).toEqual(new BigInt64Array([1n, 5n]));
    expect(pruned.deadLetters[0]!.value).toEqual(new TextEncoder().encode(recs[1]!)); // the whole raw record
  });

  it('pruned columns get a one-row scratch column, kept ones a row per record', () => {
    const out = new RowsBuilder(
      SCHEMA,
      input,
      [],
      SCHEMA.map((c) => c.name === 's' || c.name === 'id'),
    );
    const byName = new Map(SCHEMA.map((c, i) => [c.name, out.values[i]!]));
    expect(byName.get('id')!.i64.length).toBe(3000);
    expect(byName.get('s')!.utf8!.offsets.length).toBe(3001);
    expect(byName.get('t')!.i64.length).toBe(1);
    expect(byName.get('n')!.i32.length).toBe(1);
    expect(byName.get('r')!.utf8!.offsets.length).toBe(2);
    expect(byName.get('d')!.f64.length).toBe(1);
    expect([...out.rowMask]).toEqual(SCHEMA.map((c) => (c.name === 's' || c.name === 'id' ? -1 : 0)));
  });
});

describe('csv, text and raw with storedColumns', () => {
  it('csv: kept columns and dead letters as unpruned (a defect in a pruned field included)', () => {
    const schema = parseSchemaText('a BIGINT, b VARCHAR, c TIMESTAMP, d DOUBLE NOT NULL');
    const input = [
      rawBatch('c', 0, [
        '1,x,2024-05-01T00:00:00Z,1.5',
        '2,"y,z",not-a-time,2',
        '3,,,',
        '4,"q""q",1714564800000,3',
        '5,w,2024-05-01T00:00:00Z',
        'x,w,2024-05-01T00:00:00Z,4',
        '6,"a"b,,5',
      ]),
    ];
    const options: DecodeOptions = { format: 'csv', schema };
    const full = decodeRecords(input, options);
    expect(full.deadLetters.length).toBe(5);
    for (const kept of [['a'], ['b', 'd'], []]) expectProjection(decodeRecords(input, { ...options, storedColumns: kept }), full, kept);
  });

  it('text: the value column pruned still dead-letters invalid UTF-8', () => {
    const input = [rawBatch('t', 0, [{ value: 'ok' }, { value: new Uint8Array([0x61, 0xff]) }, { value: null }, { value: 'é' }])];
    const options: DecodeOptions = { format: 'text', schema: parseSchemaText('value VARCHAR') };
    const full = decodeRecords(input, options);
    expect(full.deadLetters.map((d) => d.offset)).toEqual([101n, 102n]);
    expectProjection(decodeRecords(input, { ...options, storedColumns: [] }), full, []);
    expectProjection(decodeRecords(input, { ...options, storedColumns: ['VALUE'] }), full, ['value']);
  });

  it('raw: the value column pruned', () => {
    const input = [rawBatch('r', 0, [{ value: new Uint8Array([1, 2]) }, { value: null }, { value: new Uint8Array([0xff]) }])];
    const options: DecodeOptions = { format: 'raw', schema: parseSchemaText('value BLOB') };
    const full = decodeRecords(input, options);
    expectProjection(decodeRecords(input, { ...options, storedColumns: [] }), full, []);
  });
});
