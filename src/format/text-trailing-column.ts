import * as arrow from 'apache-arrow';
import { arrowFieldOf, type ColumnSpec } from '../source/schema.js';
import type { DeadLetter, RawRecordBatch } from '../source/source.js';
import type { TrailingColumn } from './decoding-source.js';

const encoder = new TextEncoder();

/**
 * A trailing metadata column of text (VARCHAR or JSON) whose value a connector derives from each raw record
 * (`text(raw, i)`, null for NULL): NATS's `_subject` and `_headers`. The decoder emits rows in input order and leaves
 * out exactly the dead-lettered records, so walking the raw records in the same order, skipping those, lines up
 * every row with its record (checked against the `_offset` column).
 */
export function textTrailingColumn(spec: ColumnSpec, text: (raw: RawRecordBatch, i: number) => string | null): TrailingColumn {
  const field = arrowFieldOf(spec);
  return {
    spec,
    append(table, raws, deadLetters) {
      const { texts, offsets } = recordTexts(raws, deadLetters, text);
      if (texts.length !== table.numRows) throw new Error(`${spec.name}: ${texts.length} records for ${table.numRows} decoded rows`);
      const schema = new arrow.Schema([...table.schema.fields, field], table.schema.metadata);
      let row = 0;
      const batches = table.batches.map((b) => {
        const offsetColumn = b.getChild('_offset');
        for (let i = 0; i < b.numRows; i += Math.max(1, Math.floor(b.numRows / 8))) {
          if (offsetColumn && offsetColumn.get(i) !== offsets[row + i])
            throw new Error(`${spec.name}: row ${row + i} is offset ${String(offsetColumn.get(i))}, expected ${offsets[row + i]}`);
        }
        const children = [...b.data.children, utf8Data(texts, row, b.numRows)];
        row += b.numRows;
        return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: b.numRows, nullCount: 0, children }));
      });
      return new arrow.Table(schema, batches);
    },
  };
}

function recordTexts(
  raws: readonly RawRecordBatch[],
  deadLetters: readonly DeadLetter[],
  text: (raw: RawRecordBatch, i: number) => string | null,
): { texts: (string | null)[]; offsets: bigint[] } {
  const dead = new Set(deadLetters.map((d) => `${d.topic}:${d.partition}:${d.offset}`));
  const texts: (string | null)[] = [];
  const offsets: bigint[] = [];
  for (const raw of raws) {
    for (let i = 0; i < raw.count; i++) {
      const offset = raw.offsets[i]!;
      if (dead.size > 0 && dead.has(`${raw.topic}:${raw.partition}:${offset}`)) continue;
      texts.push(text(raw, i));
      offsets.push(offset);
    }
  }
  return { texts, offsets };
}

/** A Utf8 column built by hand (Arrow's builders are slow, docs/architecture.md#arrow-and-duckdb). */
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
