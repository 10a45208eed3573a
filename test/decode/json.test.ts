import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../src/format/index.js';
import { batchSchema, type ValueSchema } from '../../src/source/schema.js';
import { col, micros, rawBatch, viaIpc } from './helpers.js';

const schema: ValueSchema = [
  { name: 'b', type: 'BOOLEAN', required: false },
  { name: 'i', type: 'INTEGER', required: false },
  { name: 'l', type: 'BIGINT', required: false },
  { name: 'd', type: 'DOUBLE', required: false },
  { name: 's', type: 'VARCHAR', required: false },
  { name: 't', type: 'TIMESTAMP', required: false },
  { name: 'dt', type: 'DATE', required: false },
  { name: 'j', type: 'JSON', required: false },
];

const DAY_2024_02_29 = Date.UTC(2024, 1, 29) / 86_400_000;

describe('JSON values', () => {
  const records = [
    '{"b":true,"i":2147483647,"l":9007199254740991,"d":1.5,"s":"héllo","t":"2024-05-01T12:34:56.789Z","dt":"2024-02-29","j":{"a":[1,2,{"b":null}]}}',
    '{"b":false,"i":-2147483648,"l":-9223372036854775808,"d":-0.001,"s":"","t":"2024-05-01 12:34:56+02:00","dt":"1969-12-31","j":"str"}',
    '{"b":null,"i":null,"l":null,"d":null,"s":null,"t":null,"dt":null,"j":null}',
    '{}',
    '{"l":9223372036854775807,"d":1e300,"s":"tab\\there \\"q\\" \\u00e9 \\ud83d\\ude00","t":1714566896789,"j":[1, 2]}',
    '{"t":"2024-05-01","d":12,"i":-0,"l":1e3,"j":true}',
    '{"t":"2024-05-01T12:34:56.123456789-05:30","j":-1.25e2}',
    '{"t":"2024-05-01T00:00:00"}',
    '{"t":-1.5}',
    '{"i":1,"zzz":{"deep":[1,{"i":"not me"}],"s":[]},"i":2}',
    ' \n\t{ "i" : 4 , "s" : "x" } \r\n',
    '{"\\u0069":5,"s":"\\/"}',
    '{"t":"2024-05-01T23:59:59.5+00:00","d":123456789012345678}',
    '{"t":"9999-12-31T23:59:59.999999Z","l":-9007199254740992}',
  ];
  const out = decodeRecords([rawBatch('events', 0, records)], { format: 'json', schema });

  it('decodes every record', () => {
    expect(out.deadLetters).toEqual([]);
    expect(out.numRecords).toBe(records.length);
    expect(out.table.numRows).toBe(records.length);
  });

  it('has exactly batchSchema(schema)', () => {
    expect(out.table.schema.fields.map(String)).toEqual(batchSchema(schema).fields.map(String));
    expect(out.table.schema.fields.map((f) => [...f.metadata])).toEqual(batchSchema(schema).fields.map((f) => [...f.metadata]));
    expect(out.table.schema.fields.map((f) => f.nullable)).toEqual(batchSchema(schema).fields.map((f) => f.nullable));
  });

  const n = null;
  it('BOOLEAN', () => expect(col(out.table, 'b')).toEqual([true, false, n, n, n, n, n, n, n, n, n, n, n, n]));
  it('INTEGER (int32 bounds, -0, duplicate keys: last wins, escaped key)', () =>
    expect(col(out.table, 'i')).toEqual([2147483647, -2147483648, n, n, n, 0, n, n, n, 2, 4, 5, n, n]));
  it('BIGINT (full int64 range from integer literals, 1e3)', () =>
    expect(col(out.table, 'l')).toEqual([
      9007199254740991n,
      -9223372036854775808n,
      n,
      n,
      9223372036854775807n,
      1000n,
      n,
      n,
      n,
      n,
      n,
      n,
      n,
      -9007199254740992n,
    ]));
  it('DOUBLE', () => expect(col(out.table, 'd')).toEqual([1.5, -0.001, n, n, 1e300, 12, n, n, n, n, n, n, 123456789012345678, n]));
  it('VARCHAR (UTF-8, empty, escapes)', () => expect(col(out.table, 's')).toEqual(['héllo', '', n, n, 'tab\there "q" é 😀', n, n, n, n, n, 'x', '/', n, n]));
  it('TIMESTAMP (Z, offsets, space, date-only, epoch ms, nanos truncated, no offset = UTC)', () =>
    expect(col(out.table, 't')).toEqual([
      micros('2024-05-01T12:34:56.789Z'),
      micros('2024-05-01T10:34:56Z'),
      n,
      n,
      1714566896789000n,
      micros('2024-05-01T00:00:00Z'),
      micros('2024-05-01T18:04:56.123Z', 456),
      micros('2024-05-01T00:00:00Z'),
      -1500n,
      n,
      n,
      n,
      micros('2024-05-01T23:59:59.500Z'),
      micros('9999-12-31T23:59:59.999Z', 999),
    ]));
  it('DATE (days since epoch)', () => expect(col(out.table, 'dt')).toEqual([DAY_2024_02_29, -1, n, n, n, n, n, n, n, n, n, n, n, n]));
  it('JSON (the value as its JSON text)', () =>
    expect(col(out.table, 'j')).toEqual(['{"a":[1,2,{"b":null}]}', '"str"', n, n, '[1, 2]', 'true', '-1.25e2', n, n, n, n, n, n, n]));
  it('JSON column carries the DuckDB JSON marker', () =>
    expect(out.table.schema.fields.find((f) => f.name === 'j')!.metadata.get('duckstream.duckdb_type')).toBe('JSON'));

  it('is well-formed Arrow (IPC round trip gives the same values)', () => {
    const back = viaIpc(out.table);
    for (const f of schema) expect(col(back, f.name)).toEqual(col(out.table, f.name));
  });

  it('null counts match', () => {
    expect(out.table.getChild('b')!.nullCount).toBe(12);
    expect(out.table.getChild('t')!.nullCount).toBe(5);
  });
});

describe('JSON required fields', () => {
  it('a required field present in every record decodes', () => {
    const s: ValueSchema = [{ name: 'id', type: 'BIGINT', required: true }];
    const out = decodeRecords([rawBatch('t', 0, ['{"id":1}', '{"id":2,"x":null}'])], { format: 'json', schema: s });
    expect(out.deadLetters).toEqual([]);
    expect(col(out.table, 'id')).toEqual([1n, 2n]);
    expect(out.table.schema.fields[5]!.nullable).toBe(false);
  });
});
