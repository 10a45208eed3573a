import * as arrow from 'apache-arrow';
import type { RawRecordBatch } from '../../src/source/source.js';

export interface RawRecord {
  value: string | Uint8Array | null;
  key?: string | Uint8Array | null;
  offset?: bigint;
  /** ms since the epoch */
  timestamp?: number;
}

const encoder = new TextEncoder();
const bytes = (v: string | Uint8Array): Uint8Array => (typeof v === 'string' ? encoder.encode(v) : v);

/** A RawRecordBatch by hand: offsets default to 100, 101, …; timestamps to 1_700_000_000_000 + offset. */
export function rawBatch(topic: string, partition: number, records: readonly (RawRecord | string)[]): RawRecordBatch {
  const recs = records.map((r) => (typeof r === 'string' ? { value: r } : r));
  const offsets = BigInt64Array.from(recs, (r, i) => r.offset ?? BigInt(100 + i));
  return {
    topic,
    partition,
    count: recs.length,
    offsets,
    timestamps: Float64Array.from(recs, (r, i) => r.timestamp ?? 1_700_000_000_000 + Number(offsets[i])),
    keys: recs.map((r) => (r.key == null ? null : bytes(r.key))),
    values: recs.map((r) => (r.value === null ? null : bytes(r.value))),
    headers: recs.map(() => null),
  };
}

/**
 * A column's values with nulls: int64, timestamp and date columns as their raw stored integers
 * (bigint µs / bigint / day number), others as Arrow's `get`.
 */
export function col(table: arrow.Table, name: string): unknown[] {
  const vector = table.getChild(name);
  if (!vector) throw new Error(`no column ${name}; columns: ${table.schema.fields.map((f) => f.name).join(', ')}`);
  const type = vector.type;
  const raw = arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type) || (arrow.DataType.isInt(type) && type.bitWidth === 64);
  const out: unknown[] = [];
  let base = 0;
  for (const data of vector.data) {
    for (let i = 0; i < data.length; i++) {
      if (!vector.isValid(base + i)) out.push(null);
      else out.push(raw ? (data.values as BigInt64Array | Int32Array)[data.offset + i] : vector.get(base + i));
    }
    base += data.length;
  }
  return out;
}

/** Epoch µs of a UTC date-time, as the bigint stored in a TimestampMicrosecond column. */
export function micros(iso: string, extraMicros = 0): bigint {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test timestamp ${iso}`);
  return BigInt(ms) * 1000n + BigInt(extraMicros);
}

/** Round-trips the table through Arrow IPC: proves the hand-built buffers are well-formed Arrow. */
export function viaIpc(table: arrow.Table): arrow.Table {
  return arrow.tableFromIPC(arrow.tableToIPC(table, 'stream'));
}

/** The stored bytes of one Utf8 value (Arrow's `get` drops a leading BOM when it decodes). */
export function utf8Bytes(table: arrow.Table, name: string, row: number): Uint8Array {
  const data = table.getChild(name)!.data[0]!;
  const offsets = data.valueOffsets as Int32Array;
  return (data.values as Uint8Array).slice(offsets[data.offset + row]!, offsets[data.offset + row + 1]!);
}

/** Bytes after every packed key and value: they would complete a truncated value if a decoder read past its end. */
const JUNK = encoder.encode('1"}]\n,x');

/**
 * The same records as `batch` with its keys and values packed into two shared buffers (`bytes`, as the
 * embedded log reads them), junk bytes around each one; its per-record arrays throw, so a test proves the
 * decoder never touches them.
 */
export function packed(batch: RawRecordBatch): RawRecordBatch {
  const n = batch.count;
  const chunkOf = new Uint32Array(n);
  const keyStart = new Uint32Array(n);
  const keyLength = new Int32Array(n);
  const valueStart = new Uint32Array(n);
  const valueLength = new Int32Array(n);
  const half = n >> 1;
  const chunks: Uint8Array[] = [];
  for (const [from, to] of [
    [0, half],
    [half, n],
  ] as const) {
    const parts: Uint8Array[] = [JUNK];
    let at = JUNK.length;
    for (let i = from; i < to; i++) {
      chunkOf[i] = chunks.length;
      for (const [field, start, length] of [
        [batch.keys[i], keyStart, keyLength],
        [batch.values[i], valueStart, valueLength],
      ] as const) {
        start[i] = at;
        length[i] = field == null ? -1 : field.length;
        if (field != null) {
          parts.push(field);
          at += field.length;
        }
        parts.push(JUNK);
        at += JUNK.length;
      }
    }
    const chunk = new Uint8Array(at);
    let p = 0;
    for (const part of parts) {
      chunk.set(part, p);
      p += part.length;
    }
    chunks.push(chunk);
  }
  const refuse = (): never => {
    throw new Error('the decoder read the per-record arrays of a batch that has bytes');
  };
  return {
    topic: batch.topic,
    partition: batch.partition,
    count: n,
    offsets: batch.offsets,
    timestamps: batch.timestamps,
    get keys() {
      return refuse();
    },
    get values() {
      return refuse();
    },
    get headers() {
      return refuse();
    },
    bytes: { chunks, chunkOf, keyStart, keyLength, valueStart, valueLength },
  };
}
