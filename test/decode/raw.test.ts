import { describe, expect, it } from 'vitest';
import { decodeRecords, RAW_SCHEMA } from '../../src/format/index.js';
import type { RawRecordBatch } from '../../src/source/source.js';

const batch = (values: (Uint8Array | null)[]): RawRecordBatch => ({
  topic: 't',
  partition: 0,
  count: values.length,
  offsets: BigInt64Array.from(values.map((_, i) => BigInt(i))),
  timestamps: Float64Array.from(values.map(() => 0)),
  keys: values.map(() => null),
  values,
  headers: values.map(() => null),
});

describe("format 'raw'", () => {
  it('keeps any bytes, valid UTF-8 or not, as a BLOB column', () => {
    const bytes = [Uint8Array.from([0xff, 0x00, 0xc3]), new TextEncoder().encode('plain'), new Uint8Array(0)];
    const out = decodeRecords([batch([...bytes, null])], { format: 'raw', schema: RAW_SCHEMA });
    expect(out.table.schema.fields.at(-1)!.type.toString()).toBe('Binary');
    const col = out.table.getChild('value')!;
    expect([0, 1, 2].map((i) => Array.from(col.get(i) as Uint8Array))).toEqual(bytes.map((b) => Array.from(b)));
    expect(out.deadLetters.map((d) => [d.offset, d.reason])).toEqual([[3n, 'record has no value']]);
  });

  it('refuses a BLOB column in other formats, and other columns in raw', () => {
    expect(() => decodeRecords([], { format: 'json', schema: RAW_SCHEMA })).toThrow(/BLOB columns are for format = 'raw'/);
    expect(() => decodeRecords([], { format: 'raw', schema: [{ name: 'v', type: 'VARCHAR', required: false }] })).toThrow(/a 'raw' source has one BLOB column/);
  });
});
