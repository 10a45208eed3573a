import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../src/format/index.js';
import { DuckstreamError } from '../../src/errors.js';
import { batchSchema, type ValueSchema } from '../../src/source/schema.js';
import { col, rawBatch, viaIpc } from './helpers.js';

const schema: ValueSchema = [
  { name: 'n', type: 'INTEGER', required: true },
  { name: 'name', type: 'VARCHAR', required: false },
];

describe('rows and metadata columns', () => {
  const a0 = rawBatch('orders', 0, [
    { value: '{"n":1,"name":"a"}', key: 'k1', offset: 10n, timestamp: 1714560000000 },
    { value: 'not json', key: 'bad', offset: 11n, timestamp: 1714560000001 },
    { value: '{"n":2}', key: null, offset: 13n, timestamp: 1714560000002.5 }, // offsets need not be contiguous
  ]);
  const a1 = rawBatch('orders', 1, [
    { value: '{"n":3,"name":"ü"}', key: '', offset: 0n, timestamp: -1 },
    { value: '{"n":4}', key: new Uint8Array([0x6b, 0xff]), offset: 9007199254740993n, timestamp: 0 },
  ]);
  const many = 2500;
  const b7 = rawBatch(
    'payments',
    7,
    Array.from({ length: many }, (_, i) => ({
      value: i === 1234 ? '{"n":"x"}' : `{"n":${1000 + i},"name":"p${i}"}`,
      key: `key-${i}`,
      offset: BigInt(5000 + i),
      timestamp: 1714560000000 + i,
    })),
  );
  const out = decodeRecords([a0, a1, b7], { format: 'json', schema });
  const rows = 2 + 2 + many - 1;

  it('counts records, rows and dead letters', () => {
    expect(out.numRecords).toBe(3 + 2 + many);
    expect(out.table.numRows).toBe(rows);
    expect(out.deadLetters.map((d) => [d.topic, d.partition, d.offset])).toEqual([
      ['orders', 0, 11n],
      ['payments', 7, 6234n],
    ]);
  });

  it('keeps input order: batch by batch, record by record', () => {
    const n = col(out.table, 'n');
    expect(n.slice(0, 4)).toEqual([1, 2, 3, 4]);
    const expected = Array.from({ length: many }, (_, i) => 1000 + i).filter((v) => v !== 2234);
    expect(n.slice(4)).toEqual(expected);
  });

  it('_topic and _partition', () => {
    expect(col(out.table, '_topic')).toEqual([
      ...Array(4)
        .fill('orders')
        .map((t, i) => t),
      ...Array(many - 1).fill('payments'),
    ]);
    expect(col(out.table, '_partition')).toEqual([0, 0, 1, 1, ...Array(many - 1).fill(7)]);
  });

  it('_offset (int64, beyond 2^53 exact)', () => {
    const offsets = col(out.table, '_offset');
    expect(offsets.slice(0, 4)).toEqual([10n, 13n, 0n, 9007199254740993n]);
    expect(offsets[4]).toBe(5000n);
    expect(offsets[rows - 1]).toBe(BigInt(5000 + many - 1));
    expect(offsets).not.toContain(6234n);
  });

  it('_timestamp in microseconds', () => {
    const ts = col(out.table, '_timestamp');
    expect(ts.slice(0, 5)).toEqual([1714560000000000n, 1714560000002500n, -1000n, 0n, 1714560000000000n]);
  });

  it('_key as UTF-8, NULL without a key, invalid bytes replaced', () => {
    const keys = col(out.table, '_key');
    expect(keys.slice(0, 5)).toEqual(['k1', null, '', 'k\ufffd', 'key-0']);
    expect(keys[rows - 1]).toBe(`key-${many - 1}`);
  });

  it('VARCHAR values across > 2048 rows', () => {
    const names = col(out.table, 'name');
    expect(names.slice(0, 4)).toEqual(['a', null, 'ü', null]);
    expect(names[4 + 1233]).toBe('p1233');
    expect(names[4 + 1234]).toBe('p1235');
    expect(names[rows - 1]).toBe(`p${many - 1}`);
  });

  it('survives an IPC round trip', () => {
    const back = viaIpc(out.table);
    for (const f of back.schema.fields) expect(col(back, f.name)).toEqual(col(out.table, f.name));
  });
});

describe('empty input', () => {
  const expectEmpty = (table: ReturnType<typeof decodeRecords>['table']): void => {
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map(String)).toEqual(batchSchema(schema).fields.map(String));
    for (const f of table.schema.fields) expect(col(table, f.name)).toEqual([]);
    expect(viaIpc(table).numRows).toBe(0);
  };

  it('no batches: a valid empty table with the schema', () => {
    const out = decodeRecords([], { format: 'json', schema });
    expect(out.numRecords).toBe(0);
    expect(out.deadLetters).toEqual([]);
    expectEmpty(out.table);
  });

  it('empty batches', () => {
    expectEmpty(decodeRecords([rawBatch('t', 0, []), rawBatch('t', 1, [])], { format: 'json', schema }).table);
  });

  it('every record dead-lettered', () => {
    const out = decodeRecords([rawBatch('t', 0, ['x', '{"name":"no n"}'])], { format: 'json', schema });
    expect(out.deadLetters).toHaveLength(2);
    expect(out.numRecords).toBe(2);
    expectEmpty(out.table);
  });
});

describe('options are checked', () => {
  const bad: [string, Parameters<typeof decodeRecords>[1], RegExp][] = [
    ['no columns', { format: 'json', schema: [] }, /declares no columns/],
    ['duplicate column', { format: 'json', schema: [...schema, schema[0]!] }, /'n' is declared twice/],
    ['metadata name', { format: 'json', schema: [{ name: '_offset', type: 'BIGINT', required: false }] }, /'_offset'.*metadata/],
    ['text with two columns', { format: 'text', schema }, /'text' source has one VARCHAR column/],
    ['bad max_value_bytes', { format: 'json', schema, maxValueBytes: 0 }, /max_value_bytes is 0/],
    ['bad csv delimiter', { format: 'csv', schema, csvDelimiter: '::' }, /csv delimiter "::"/],
    ['quote as csv delimiter', { format: 'csv', schema, csvDelimiter: '"' }, /csv delimiter/],
  ];
  for (const [name, options, message] of bad) {
    it(name, () => {
      let error: unknown;
      try {
        decodeRecords([], options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DuckstreamError);
      expect((error as DuckstreamError).domain).toBe('user');
      expect((error as DuckstreamError).message).toMatch(message);
      expect((error as DuckstreamError).fix).toBeTruthy();
    });
  }
});
