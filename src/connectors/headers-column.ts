import * as arrow from 'apache-arrow';
import type { TrailingColumn } from '../format/decoding-source.js';
import { HEADERS_COLUMN } from '../source/metadata-columns.js';
import { DUCKDB_TYPE_METADATA } from '../source/schema.js';
import type { DeadLetter, RawRecordBatch } from '../source/source.js';

/**
 * `_headers JSON`: a Kafka or AMQP record's headers as a JSON object, name → value as a UTF-8 string (a name that
 * occurs several times → an array of its values in order; a value that is not valid UTF-8 → "base64:<base64>");
 * NULL when the record has none. Only broker sources have it (the embedded log has no headers). It is the last
 * column, after the value columns: the source carries it in the value schema the driver sees (see KafkaSource.schema).
 * Query it as `_headers->>'trace_id'`.
 */
export const HEADERS_FIELD = new arrow.Field(HEADERS_COLUMN, new arrow.Utf8(), true, new Map([[DUCKDB_TYPE_METADATA, 'JSON']]));

/** `_headers` as the trailing column of the Kafka source's schema, filled after decoding (see withHeadersColumn). */
export const HEADERS_TRAILING_COLUMN: TrailingColumn = {
  spec: { name: HEADERS_FIELD.name, type: 'JSON', required: false },
  append: (table, raws, deadLetters) => withHeadersColumn(table, raws, deadLetters),
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function headersJson(pairs: ReadonlyArray<readonly [string, Uint8Array]> | null): string | null {
  if (!pairs || pairs.length === 0) return null;
  const obj: Record<string, string | string[]> = {};
  for (const [name, bytes] of pairs) {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      text = `base64:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
    }
    const seen = obj[name];
    if (seen === undefined) obj[name] = text;
    else if (Array.isArray(seen)) seen.push(text);
    else obj[name] = [seen, text];
  }
  return JSON.stringify(obj);
}

/**
 * Append `_headers` to a decoded table. The decoder emits rows in input order and leaves out
 * exactly the dead-lettered records, so walking the raw records in the same order, skipping those, lines up
 * every row with its record (checked against the `_offset` column).
 */
export function withHeadersColumn(table: arrow.Table, raws: readonly RawRecordBatch[], deadLetters: readonly DeadLetter[]): arrow.Table {
  if (raws.every((r) => r.headers.every((h) => h === null || h.length === 0))) return appendColumn(table, (_from, length) => nullUtf8(length));
  const dead = new Set(deadLetters.map((d) => `${d.topic}:${d.partition}:${d.offset}`));
  const texts: (string | null)[] = [];
  const offsets: bigint[] = [];
  for (const raw of raws) {
    for (let i = 0; i < raw.count; i++) {
      const offset = raw.offsets[i]!;
      if (dead.size > 0 && dead.has(`${raw.topic}:${raw.partition}:${offset}`)) continue;
      texts.push(headersJson(raw.headers[i] ?? null));
      offsets.push(offset);
    }
  }
  if (texts.length !== table.numRows) throw new Error(`_headers: ${texts.length} records for ${table.numRows} decoded rows`);
  return appendColumn(table, (from, length, b) => {
    const offsetColumn = b.getChild('_offset');
    for (let i = 0; i < length; i += Math.max(1, Math.floor(length / 8))) {
      if (offsetColumn && offsetColumn.get(i) !== offsets[from + i])
        throw new Error(`_headers: row ${from + i} is offset ${String(offsetColumn.get(i))}, expected ${offsets[from + i]}`);
    }
    return utf8Data(texts, from, length);
  });
}

/** The table with `_headers` appended, its data made per record batch by `column(firstRow, rows, batch)`. */
function appendColumn(table: arrow.Table, column: (from: number, length: number, batch: arrow.RecordBatch) => arrow.Data<arrow.Utf8>): arrow.Table {
  const schema = new arrow.Schema([...table.schema.fields, HEADERS_FIELD], table.schema.metadata);
  let row = 0;
  const batches = table.batches.map((b) => {
    const children = [...b.data.children, column(row, b.numRows, b)];
    row += b.numRows;
    return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: b.numRows, nullCount: 0, children }));
  });
  return new arrow.Table(schema, batches);
}

function nullUtf8(length: number): arrow.Data<arrow.Utf8> {
  return arrow.makeData({
    type: new arrow.Utf8(),
    length,
    nullCount: length,
    nullBitmap: new Uint8Array(Math.ceil(length / 8)),
    valueOffsets: new Int32Array(length + 1),
    data: new Uint8Array(0),
  });
}

/** A Utf8 column built by hand (Arrow's builders are slow, docs/architecture.md#arrow-and-duckdb); mostly NULL in practice. */
function utf8Data(texts: readonly (string | null)[], from: number, length: number): arrow.Data<arrow.Utf8> {
  const valueOffsets = new Int32Array(length + 1);
  const validity = new Uint8Array(Math.ceil(length / 8));
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let nulls = 0;
  for (let i = 0; i < length; i++) {
    const t = texts[from + i];
    if (t == null) nulls++;
    else {
      const b = encoder.encode(t);
      parts.push(b);
      bytes += b.length;
      validity[i >> 3]! |= 1 << (i & 7);
    }
    valueOffsets[i + 1] = bytes;
  }
  const data = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return arrow.makeData({ type: new arrow.Utf8(), length, nullCount: nulls, nullBitmap: nulls > 0 ? validity : null, valueOffsets, data });
}
