import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { appendArrow, appendArrowWith, createTableFromArrow, duckdbTypeOf, splitTableName } from '../../src/arrow/arrow-to-duckdb.js';
import { DUCKDB_TYPE_METADATA } from '../../src/source/schema.js';
import { bools, firstDifference, fixed, hex, rows, table, varwidth, withConnection } from './helpers.js';

type Value = number | bigint | boolean | string | Uint8Array | null;

/** One test column: its Arrow type, a value per row index, how to read it back exactly, and what that gives. */
interface Spec {
  readonly name: string;
  readonly type: arrow.DataType;
  readonly sqlType: string;
  readonly value: (i: number) => Value;
  /** SQL reading the column back as an exactly comparable JS value (`c` is the column). */
  readonly read?: (c: string) => string;
  /** The JS value that read gives for an input value (identity unless given). */
  readonly expect?: (v: Value) => unknown;
  readonly metadata?: Map<string, string>;
}

const nullAt = (i: number): boolean => i % 7 === 3;
const nullable =
  (f: (i: number) => Value) =>
  (i: number): Value =>
    nullAt(i) ? null : f(i);
const pick = <T>(i: number, extremes: readonly T[], rest: (i: number) => T): T => (i < extremes.length ? extremes[i]! : rest(i));

const STRINGS = [
  '',
  'a',
  'exactly12byt',
  'thirteen13byt',
  'élan12bytes',
  'é2345678901é',
  'ünïcödé — long enough to be stored out of line',
  '😀 emoji 👍🏽',
  'line\nbreak\ttab "double" \'single\' , comma \\ backslash',
  '日本語のテキスト',
  '\u0000nul inside',
];
const str = (i: number): string => (i < STRINGS.length ? STRINGS[i]! : `${STRINGS[i % STRINGS.length]!}#${i}${i % 5 === 0 ? 'x'.repeat(300) : ''}`);
const bytesOf = (i: number): Uint8Array => new Uint8Array(Array.from({ length: (i * 7) % 40 }, (_, k) => (i * 31 + k * 17) % 256));

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const US_PER_DAY = 86_400_000_000n;

const SPECS: readonly Spec[] = [
  { name: 'i8', type: new arrow.Int8(), sqlType: 'TINYINT', value: nullable((i) => pick(i, [-128, 127], (j) => (j % 256) - 128)) },
  { name: 'i16', type: new arrow.Int16(), sqlType: 'SMALLINT', value: nullable((i) => pick(i, [-32768, 32767], (j) => ((j * 13) % 65536) - 32768)) },
  {
    name: 'i32',
    type: new arrow.Int32(),
    sqlType: 'INTEGER',
    value: nullable((i) => pick(i, [-2147483648, 2147483647], (j) => ((j * 7919) % 1000003) - 500000)),
  },
  {
    name: 'i64',
    type: new arrow.Int64(),
    sqlType: 'BIGINT',
    value: nullable((i) => pick(i, [I64_MIN, I64_MAX], (j) => BigInt.asIntN(64, BigInt(j) * -1234567890123457n))),
  },
  { name: 'u8', type: new arrow.Uint8(), sqlType: 'UTINYINT', value: nullable((i) => pick(i, [0, 255], (j) => j % 256)) },
  { name: 'u16', type: new arrow.Uint16(), sqlType: 'USMALLINT', value: nullable((i) => pick(i, [0, 65535], (j) => (j * 3) % 65536)) },
  { name: 'u32', type: new arrow.Uint32(), sqlType: 'UINTEGER', value: nullable((i) => pick(i, [0, 4294967295], (j) => j * 104729)) },
  { name: 'u64', type: new arrow.Uint64(), sqlType: 'UBIGINT', value: nullable((i) => pick(i, [0n, 2n ** 64n - 1n], (j) => BigInt(j) * 9876543210987n)) },
  { name: 'f32', type: new arrow.Float32(), sqlType: 'FLOAT', value: nullable((i) => Math.fround(i * 1.5 - 3.25)) },
  { name: 'f64', type: new arrow.Float64(), sqlType: 'DOUBLE', value: nullable((i) => pick(i, [-1.7976931348623157e308, 5e-324, -0.1], (j) => j * 0.1 - 100)) },
  { name: 'bool', type: new arrow.Bool(), sqlType: 'BOOLEAN', value: nullable((i) => i % 3 === 0) },
  { name: 'utf8', type: new arrow.Utf8(), sqlType: 'VARCHAR', value: nullable(str) },
  { name: 'large_utf8', type: new arrow.LargeUtf8(), sqlType: 'VARCHAR', value: nullable((i) => str(i + 3)) },
  {
    name: 'json',
    type: new arrow.Utf8(),
    sqlType: 'JSON',
    value: nullable((i) => `{"i":${i},"s":${JSON.stringify(str(i))}}`),
    metadata: new Map([[DUCKDB_TYPE_METADATA, 'JSON']]),
    read: (c) => `CAST(${c} AS VARCHAR)`,
  },
  { name: 'binary', type: new arrow.Binary(), sqlType: 'BLOB', value: nullable(bytesOf), read: (c) => `hex(${c})`, expect: (v) => hex(v as Uint8Array) },
  {
    name: 'large_binary',
    type: new arrow.LargeBinary(),
    sqlType: 'BLOB',
    value: nullable((i) => bytesOf(i + 1)),
    read: (c) => `hex(${c})`,
    expect: (v) => hex(v as Uint8Array),
  },
  {
    name: 'ts_us',
    type: new arrow.TimestampMicrosecond(),
    sqlType: 'TIMESTAMP',
    read: (c) => `epoch_us(${c})`,
    value: nullable((i) => pick(i, [-62135596800000000n, -1n, 0n], (j) => BigInt(j - 5000) * (US_PER_DAY + 123457n))),
  },
  {
    name: 'ts_ms',
    type: new arrow.TimestampMillisecond(),
    sqlType: 'TIMESTAMP',
    read: (c) => `epoch_us(${c})`,
    expect: (v) => (v as bigint) * 1000n,
    value: nullable((i) => pick(i, [-62135596800000n, -1n, 1700000000123n], (j) => BigInt(j - 5000) * 86400001n)),
  },
  {
    name: 'ts_s',
    type: new arrow.TimestampSecond(),
    sqlType: 'TIMESTAMP',
    read: (c) => `epoch_us(${c})`,
    expect: (v) => (v as bigint) * 1_000_000n,
    value: nullable((i) => pick(i, [-62135596800n, -1n], (j) => BigInt(j - 5000) * 86401n)),
  },
  {
    name: 'ts_ns',
    type: new arrow.TimestampNanosecond(),
    sqlType: 'TIMESTAMP_NS',
    read: (c) => `epoch_ns(${c})`,
    value: nullable((i) => pick(i, [-1n, 1700000000123456789n], (j) => BigInt(j - 5000) * 86400000000123n)),
  },
  {
    name: 'ts_tz',
    type: new arrow.TimestampMicrosecond('UTC'),
    sqlType: 'TIMESTAMP WITH TIME ZONE',
    read: (c) => `epoch_us(${c})`,
    value: nullable((i) => BigInt(i - 100) * 3_600_000_001n),
  },
  {
    name: 'ts_ms_tz',
    type: new arrow.TimestampMillisecond('Europe/Paris'),
    sqlType: 'TIMESTAMP WITH TIME ZONE',
    read: (c) => `epoch_us(${c})`,
    expect: (v) => (v as bigint) * 1000n,
    value: nullable((i) => BigInt(i - 100) * 3_600_001n),
  },
  {
    name: 'date_day',
    type: new arrow.DateDay(),
    sqlType: 'DATE',
    read: (c) => `CAST(${c} - DATE '1970-01-01' AS INTEGER)`,
    value: nullable((i) => pick(i, [-719162, -1, 0, 2932896], (j) => j * 37 - 100000)),
  },
  {
    name: 'date_ms',
    type: new arrow.DateMillisecond(),
    sqlType: 'DATE',
    read: (c) => `CAST(${c} - DATE '1970-01-01' AS INTEGER)`,
    expect: (v) => Number((v as bigint) / 86_400_000n),
    value: nullable((i) => BigInt(i * 37 - 100000) * 86_400_000n),
  },
];

function columnData(spec: Spec, values: readonly Value[]): arrow.Data {
  const t = spec.type;
  if (arrow.DataType.isBool(t)) return bools(values as (boolean | null)[]);
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t) || arrow.DataType.isBinary(t) || arrow.DataType.isLargeBinary(t)) {
    return varwidth(t, values as (string | Uint8Array | null)[]);
  }
  return fixed(t as arrow.Int, values as (number | bigint | null)[]);
}

function fieldsOf(specs: readonly Spec[]): arrow.Field[] {
  return specs.map((s) => new arrow.Field(s.name, s.type, true, s.metadata));
}

/** Rows [from, to) of every spec, as Arrow columns and as the JS values the read-back query must return. */
function build(specs: readonly Spec[], from: number, to: number): { columns: arrow.Data[]; expected: Record<string, unknown>[] } {
  const idx = Array.from({ length: to - from }, (_, k) => from + k);
  const inputs = specs.map((s) => idx.map((i) => s.value(i)));
  const columns = specs.map((s, c) => columnData(s, inputs[c]!));
  const expected = idx.map((_, r) =>
    Object.fromEntries(
      specs.map((s, c) => {
        const v = inputs[c]![r]!;
        return [s.name, v === null ? null : s.expect ? s.expect(v) : v];
      }),
    ),
  );
  return { columns, expected };
}

function readBack(specs: readonly Spec[], tableName: string): string {
  return `SELECT ${specs.map((s) => `${s.read ? s.read(`"${s.name}"`) : `"${s.name}"`} AS "${s.name}"`).join(', ')} FROM ${tableName} ORDER BY rowid`;
}

describe('createTableFromArrow round trip', () => {
  for (const n of [0, 1, 2047, 2048, 2049, 10_000]) {
    it(`every supported type, ${n} rows, with NULLs, extremes, empty and non-ASCII strings`, async () => {
      await withConnection(async (conn) => {
        const { columns, expected } = build(SPECS, 0, n);
        await createTableFromArrow(conn, '"t"', table(fieldsOf(SPECS), [columns]));
        const described = await rows(conn, 'DESCRIBE "t"');
        expect(described.map((r) => [r['column_name'], r['column_type']])).toEqual(SPECS.map((s) => [s.name, s.sqlType]));
        expect(firstDifference(await rows(conn, readBack(SPECS, '"t"')), expected)).toBeUndefined();
      });
    });
  }

  it('several record batches, later ones without a validity bitmap (chunk reuse must reset NULLs)', async () => {
    await withConnection(async (conn) => {
      const withNulls = build(SPECS, 0, 3000);
      const allValidSpecs = SPECS.map((s) => ({ ...s, value: (i: number) => s.value(i * 7 + 1) }));
      const noNulls = build(allValidSpecs, 0, 2500);
      for (const c of noNulls.columns) expect(c.nullCount).toBe(0);
      const small = build(SPECS, 5, 9);
      await createTableFromArrow(conn, '"t"', table(fieldsOf(SPECS), [withNulls.columns, noNulls.columns, small.columns]));
      const expected = [...withNulls.expected, ...noNulls.expected, ...small.expected];
      expect(firstDifference(await rows(conn, readBack(SPECS, '"t"')), expected)).toBeUndefined();
    });
  });

  it('sliced tables (bit offsets not a multiple of 8) keep values, booleans and NULLs aligned', async () => {
    await withConnection(async (conn) => {
      const { columns, expected } = build(SPECS, 0, 5000);
      const sliced = table(fieldsOf(SPECS), [columns]).slice(3, 4500);
      expect(sliced.batches[0]!.data.children[0]!.offset).toBe(3);
      await createTableFromArrow(conn, '"t"', sliced);
      expect(firstDifference(await rows(conn, readBack(SPECS, '"t"')), expected.slice(3, 4500))).toBeUndefined();
    });
  });

  it('the per-string strategy loads the same values (it is benchmarked against the default)', async () => {
    await withConnection(async (conn) => {
      const { columns, expected } = build(SPECS, 0, 2100);
      await conn.run(`CREATE TABLE t (${SPECS.map((s) => `"${s.name}" ${s.sqlType}`).join(', ')})`);
      await appendArrowWith(conn, 't', table(fieldsOf(SPECS), [columns]), 'per-string');
      expect(firstDifference(await rows(conn, readBack(SPECS, 't')), expected)).toBeUndefined();
    });
  });
});

describe('dictionary-encoded strings', () => {
  it('loads Dictionary<Int32, Utf8> (what tableFromArrays makes of strings) with NULLs', async () => {
    await withConnection(async (conn) => {
      const values = Array.from({ length: 4100 }, (_, i) => (i % 9 === 4 ? null : STRINGS[i % STRINGS.length]!));
      const data = arrow.tableFromArrays({ s: values });
      expect(arrow.DataType.isDictionary(data.schema.fields[0]!.type)).toBe(true);
      await createTableFromArrow(conn, '"d"', data);
      expect(await rows(conn, 'SELECT column_type FROM (DESCRIBE "d")')).toEqual([{ column_type: 'VARCHAR' }]);
      expect((await rows(conn, 'SELECT s FROM "d" ORDER BY rowid')).map((r) => r['s'])).toEqual(values);
    });
  });

  it('loads Dictionary<Int8, Binary> built by hand, across two batches with different dictionaries', async () => {
    await withConnection(async (conn) => {
      const type = new arrow.Dictionary(new arrow.Binary(), new arrow.Int8());
      const dict1 = [new Uint8Array([1, 2, 3]), new Uint8Array(Array.from({ length: 20 }, (_, k) => 255 - k))];
      const dict2 = [new Uint8Array(0), new Uint8Array(Array.from({ length: 13 }, (_, k) => k))];
      const make = (dict: Uint8Array[], idx: number[]) =>
        arrow.makeData({ type, length: idx.length, data: Int8Array.from(idx), dictionary: arrow.makeVector(varwidth(new arrow.Binary(), dict)) });
      const idx1 = [0, 1, 1, 0];
      const idx2 = [1, 0, 1];
      await createTableFromArrow(conn, '"d"', table([new arrow.Field('b', type, true)], [[make(dict1, idx1)], [make(dict2, idx2)]]));
      const got = (await rows(conn, 'SELECT hex(b) AS h FROM "d" ORDER BY rowid')).map((r) => r['h']);
      expect(got).toEqual([...idx1.map((i) => hex(dict1[i]!)), ...idx2.map((i) => hex(dict2[i]!))]);
    });
  });
});

describe('appendArrow', () => {
  it('appends by position to an existing table, letting DuckDB widen types', async () => {
    await withConnection(async (conn) => {
      await conn.run('CREATE TABLE "My Schema"."x" (a BIGINT, b VARCHAR)').catch(async () => {
        await conn.run('CREATE SCHEMA "My Schema"');
        await conn.run('CREATE TABLE "My Schema"."x" (a BIGINT, b VARCHAR)');
      });
      const data = table(
        [new arrow.Field('n', new arrow.Int32()), new arrow.Field('s', new arrow.Utf8())],
        [[fixed(new arrow.Int32(), [-5, 7]), varwidth(new arrow.Utf8(), ['p', 'q'])]],
      );
      await appendArrow(conn, '"My Schema"."x"', data);
      await appendArrow(conn, '"My Schema"."x"', data);
      expect(await rows(conn, 'SELECT a, b FROM "My Schema"."x" ORDER BY rowid')).toEqual([
        { a: -5n, b: 'p' },
        { a: 7n, b: 'q' },
        { a: -5n, b: 'p' },
        { a: 7n, b: 'q' },
      ]);
    });
  });

  it('refuses a table with a different number of columns', async () => {
    await withConnection(async (conn) => {
      await conn.run('CREATE TABLE y (a INTEGER, b INTEGER)');
      const data = table([new arrow.Field('n', new arrow.Int32())], [[fixed(new arrow.Int32(), [1])]]);
      await expect(appendArrow(conn, '"y"', data)).rejects.toThrow(/has 2 columns and the Arrow table has 1/);
      expect(await rows(conn, 'SELECT count(*)::INTEGER AS n FROM y')).toEqual([{ n: 0 }]);
    });
  });

  it('rejects invalid UTF-8 in a Utf8 column, naming the column and row', async () => {
    await withConnection(async (conn) => {
      const good = new TextEncoder().encode('long enough valid string');
      const cut = new TextEncoder().encode('é').subarray(0, 1); // a lone lead byte
      const data = table([new arrow.Field('txt', new arrow.Utf8())], [[varwidth(new arrow.Utf8(), [good, good, cut, good])]]);
      await expect(createTableFromArrow(conn, '"z"', data)).rejects.toThrow(/column 'txt' row 2: the value is not valid UTF-8/);
      // a multi-byte character split between two values: each half is invalid though the buffer as a whole is valid
      const e = new TextEncoder().encode('é');
      const split = table([new arrow.Field('txt', new arrow.Utf8())], [[varwidth(new arrow.Utf8(), [e.subarray(0, 1), e.subarray(1)])]]);
      await expect(createTableFromArrow(conn, '"z2"', split)).rejects.toThrow(/column 'txt' row 0/);
    });
  });
});

describe('createTableFromArrow options', () => {
  const one = () => table([new arrow.Field('v', new arrow.Int32())], [[fixed(new arrow.Int32(), [42])]]);

  it('temporary creates a TEMP table and replace swaps an existing one', async () => {
    await withConnection(async (conn) => {
      await createTableFromArrow(conn, '"tmp"', one(), { temporary: true });
      expect(await rows(conn, `SELECT temporary FROM duckdb_tables() WHERE table_name = 'tmp'`)).toEqual([{ temporary: true }]);
      await expect(createTableFromArrow(conn, '"tmp"', one(), { temporary: true })).rejects.toThrow(/already exists/);
      await createTableFromArrow(conn, '"tmp"', one(), { temporary: true, replace: true });
      expect(await rows(conn, 'SELECT v FROM "tmp"')).toEqual([{ v: 42 }]);
    });
  });
});

describe('duckdbTypeOf', () => {
  it('maps the source types of schema.ts', () => {
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.Bool()))).toBe('BOOLEAN');
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.Int32()))).toBe('INTEGER');
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.Int64()))).toBe('BIGINT');
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.Float64()))).toBe('DOUBLE');
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.Utf8()))).toBe('VARCHAR');
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.Utf8(), true, new Map([[DUCKDB_TYPE_METADATA, 'JSON']])))).toBe('JSON');
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.TimestampMicrosecond()))).toBe('TIMESTAMP');
    expect(duckdbTypeOf(new arrow.Field('a', new arrow.DateDay()))).toBe('DATE');
  });

  for (const [label, type] of [
    ['Float16', new arrow.Float16()],
    ['Decimal', new arrow.Decimal(2, 10, 128)],
    ['List', new arrow.List(new arrow.Field('item', new arrow.Int32()))],
    ['Struct', new arrow.Struct([new arrow.Field('x', new arrow.Int32())])],
    ['Timestamp<ns, tz>', new arrow.TimestampNanosecond('UTC')],
    ['Dictionary<Int32, Int64>', new arrow.Dictionary(new arrow.Int64(), new arrow.Int32())],
  ] as const) {
    it(`refuses ${label}, naming the column`, async () => {
      const field = new arrow.Field('weird col', type);
      expect(() => duckdbTypeOf(field)).toThrow(/column 'weird col' has Arrow type/);
      await withConnection(async (conn) => {
        await expect(createTableFromArrow(conn, '"w"', new arrow.Table(new arrow.Schema([field])))).rejects.toThrow(/column 'weird col'/);
      });
    });
  }
});

describe('splitTableName', () => {
  it('unquotes one to three parts', () => {
    expect(splitTableName('"src_pageviews"')).toEqual([null, null, 'src_pageviews']);
    expect(splitTableName('main.t')).toEqual([null, 'main', 't']);
    expect(splitTableName('"db"."my ""odd"" schema"."t.x"')).toEqual(['db', 'my "odd" schema', 't.x']);
  });

  it('refuses what is not a table name', () => {
    expect(() => splitTableName('t; DROP TABLE x')).toThrow(/is not a table name/);
    expect(() => splitTableName('')).toThrow(/is not a table name/);
    expect(() => splitTableName('a.b.c.d')).toThrow(/is not a table name/);
  });
});
