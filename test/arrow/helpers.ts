import * as arrow from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** A fresh in-memory DuckDB per call, closed afterwards. */
export async function withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export async function rows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

/** Arrow validity bitmap for `values` (null/undefined → invalid); undefined when nothing is null. */
function validity(values: readonly unknown[]): Uint8Array | undefined {
  if (!values.some((v) => v === null)) return undefined;
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) bits[i >> 3]! |= 1 << (i & 7);
  });
  return bits;
}

type FixedType = arrow.Int | arrow.Float | arrow.Timestamp | arrow.Date_;

/** Column of a fixed-width type built by hand from the buffers (no builders), nulls stored as 0 under a cleared bit. */
export function fixed<T extends FixedType>(type: T, values: readonly (number | bigint | null)[]): arrow.Data<T> {
  const ArrayType = type.ArrayType as { from(v: Iterable<number | bigint>): ArrayBufferView };
  const bigint = ArrayType === (BigInt64Array as unknown) || ArrayType === (BigUint64Array as unknown);
  const zero = bigint ? 0n : 0;
  const data = ArrayType.from(values.map((v) => v ?? zero));
  return arrow.makeData({ type, length: values.length, data, nullBitmap: validity(values) } as never) as arrow.Data<T>;
}

export function bools(values: readonly (boolean | null)[]): arrow.Data<arrow.Bool> {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  return arrow.makeData({ type: new arrow.Bool(), length: values.length, data: bits, nullBitmap: validity(values) });
}

/** Utf8/LargeUtf8/Binary/LargeBinary column from strings (UTF-8 encoded) or byte arrays. */
export function varwidth<T extends arrow.Utf8 | arrow.LargeUtf8 | arrow.Binary | arrow.LargeBinary>(
  type: T,
  values: readonly (string | Uint8Array | null)[],
): arrow.Data<T> {
  const enc = new TextEncoder();
  const parts = values.map((v) => (v === null ? new Uint8Array(0) : typeof v === 'string' ? enc.encode(v) : v));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const bytes = new Uint8Array(total);
  const large = arrow.DataType.isLargeUtf8(type) || arrow.DataType.isLargeBinary(type);
  const offsets = large ? new BigInt64Array(values.length + 1) : new Int32Array(values.length + 1);
  let at = 0;
  parts.forEach((p, i) => {
    bytes.set(p, at);
    at += p.length;
    if (offsets instanceof BigInt64Array) offsets[i + 1] = BigInt(at);
    else offsets[i + 1] = at;
  });
  return arrow.makeData({ type, length: values.length, data: bytes, valueOffsets: offsets, nullBitmap: validity(values) } as never) as arrow.Data<T>;
}

/** One record batch per entry of `batches`, each a list of columns in `fields` order. */
export function table(fields: readonly arrow.Field[], batches: readonly (readonly arrow.Data[])[]): arrow.Table {
  const schema = new arrow.Schema([...fields]);
  const recordBatches = batches.map((children) => {
    const length = children[0]?.length ?? 0;
    return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct([...fields]), length, nullCount: 0, children: [...children] }));
  });
  return recordBatches.length === 0 ? new arrow.Table(schema) : new arrow.Table(recordBatches);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** Equal row lists; on a mismatch, the assertion shows the first differing row instead of two 10k-row arrays. */
export function firstDifference(actual: readonly Record<string, unknown>[], expected: readonly Record<string, unknown>[]): unknown {
  if (actual.length !== expected.length) return { actualRows: actual.length, expectedRows: expected.length };
  for (let r = 0; r < expected.length; r++) {
    for (const key of new Set([...Object.keys(expected[r]!), ...Object.keys(actual[r]!)])) {
      const a = actual[r]![key];
      const e = expected[r]![key];
      if (!Object.is(a, e) && !(typeof a === typeof e && JSON.stringify(a, big) === JSON.stringify(e, big) && typeof a !== 'number')) {
        return { row: r, column: key, actual: a, expected: e };
      }
    }
  }
  return undefined;
}

const big = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);
