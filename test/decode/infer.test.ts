import { describe, expect, it } from 'vitest';
import { decodeRecords, inferSchema } from '../../src/format/index.js';
import { DuckstreamError } from '../../src/errors.js';
import { col, rawBatch } from './helpers.js';

const json = { format: 'json' } as const;

describe('inferSchema', () => {
  it('field names in first-seen order across records and batches; types from the values', () => {
    const schema = inferSchema(
      [
        rawBatch('t', 0, ['{"a":1,"b":"x"}', 'not json', '[1,2]', { value: null }, '{"c":true,"a":2.5}']),
        rawBatch('t', 1, ['{"d":{"x":1},"e":[1],"f":"2024-05-01T12:00:00Z","g":"2024-05-01","h":9223372036854775807}']),
      ],
      json,
    );
    expect(schema).toEqual([
      { name: 'a', type: 'DOUBLE', required: false },
      { name: 'b', type: 'VARCHAR', required: false },
      { name: 'c', type: 'BOOLEAN', required: false },
      { name: 'd', type: 'JSON', required: false },
      { name: 'e', type: 'JSON', required: false },
      { name: 'f', type: 'TIMESTAMP', required: false },
      { name: 'g', type: 'VARCHAR', required: false },
      { name: 'h', type: 'BIGINT', required: false },
    ]);
  });

  it('integers → BIGINT, nulls ignored, mixed types without a dominant one and only-nulls → JSON', () => {
    const schema = inferSchema(
      [rawBatch('t', 0, ['{"n":1,"mixed":1,"nul":null,"ts":"2024-05-01 12:00:00+02:00"}', '{"n":null,"mixed":"1","ts":"2024-05-01T12:00"}'])],
      json,
    );
    expect(schema.map((c) => `${c.name} ${c.type}`)).toEqual(['n BIGINT', 'mixed JSON', 'nul JSON', 'ts TIMESTAMP']);
  });

  it('a string column is TIMESTAMP only if at least 90% of its values are ISO timestamps with a time part', () => {
    const schema = inferSchema([rawBatch('t', 0, ['{"ts":"2024-05-01T12:00:00Z"}', '{"ts":"soon"}'])], json);
    expect(schema).toEqual([{ name: 'ts', type: 'VARCHAR', required: false }]);
    const mostly = Array.from({ length: 20 }, (_, i) => (i === 7 ? '{"ts":"soon"}' : `{"ts":"2024-05-01T12:00:${String(i).padStart(2, '0')}Z"}`));
    expect(inferSchema([rawBatch('t', 0, mostly)], json)).toEqual([{ name: 'ts', type: 'TIMESTAMP', required: false }]);
  });

  it('the dominant type wins (≥ 90% of the non-null values); the other values are dead-lettered, not a JSON column', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i === 500 ? '{"user_id":"not-a-number","n":1}' : `{"user_id":${i},"n":${i % 3 === 0 ? null : i}}`));
    const batches = [rawBatch('t', 0, values)];
    const schema = inferSchema(batches, json);
    expect(schema.map((c) => `${c.name} ${c.type}`)).toEqual(['user_id BIGINT', 'n BIGINT']);
    const out = decodeRecords(batches, { format: 'json', schema });
    expect(out.table.numRows).toBe(999);
    expect(out.deadLetters.map((d) => [Number(d.offset) - 100, d.reason])).toEqual([[500, `field 'user_id': expected BIGINT, got string "not-a-number"`]]);
  });

  it('integers and fractions together are DOUBLE; booleans and strings dominate the same way; below 90% is JSON', () => {
    const rows = (f: (i: number) => string): string[] => Array.from({ length: 100 }, (_, i) => `{"v":${f(i)}}`);
    const typeOf = (values: string[]): string => inferSchema([rawBatch('t', 0, values)], json)[0]!.type;
    expect(typeOf(rows((i) => (i % 2 ? `${i}` : `${i}.5`)))).toBe('DOUBLE');
    expect(typeOf(rows((i) => (i < 95 ? `${i}` : `${i}.5`)))).toBe('DOUBLE');
    expect(typeOf(rows((i) => (i < 90 ? 'true' : '"yes"')))).toBe('BOOLEAN');
    expect(typeOf(rows((i) => (i < 95 ? `"s${i}"` : `${i}`)))).toBe('VARCHAR');
    expect(typeOf(rows((i) => (i < 89 ? `${i}` : `"s${i}"`)))).toBe('JSON');
    expect(typeOf(rows((i) => (i < 95 ? `[${i}]` : `{"k":${i}}`)))).toBe('JSON');
  });

  it('timestampColumns forces TIMESTAMP (epoch ms numbers too)', () => {
    const schema = inferSchema([rawBatch('t', 0, ['{"at":1714560000000,"when":"2024-05-01"}'])], { ...json, timestampColumns: ['at', 'when'] });
    expect(schema.map((c) => `${c.name} ${c.type}`)).toEqual(['at TIMESTAMP', 'when TIMESTAMP']);
  });

  it('samples only the first sampleSize decodable objects', () => {
    const schema = inferSchema([rawBatch('t', 0, ['bad', '{"a":1}', '{"a":2}', '{"a":0.5,"late":1}'])], { ...json, sampleSize: 2 });
    expect(schema).toEqual([{ name: 'a', type: 'BIGINT', required: false }]);
  });

  it('the inferred schema decodes the sample', () => {
    const batches = [rawBatch('t', 0, ['{"a":1,"b":"x","ts":"2024-05-01T00:00:00Z","o":{"k":[1]}}', '{"a":2,"o":null}'])];
    const out = decodeRecords(batches, { format: 'json', schema: inferSchema(batches, json) });
    expect(out.deadLetters).toEqual([]);
    expect(col(out.table, 'a')).toEqual([1n, 2n]);
    expect(col(out.table, 'o')).toEqual(['{"k":[1]}', null]);
  });

  it('text: the fixed value VARCHAR schema', () => {
    expect(inferSchema([], { format: 'text' })).toEqual([{ name: 'value', type: 'VARCHAR', required: false }]);
  });

  const userErrorOf = (f: () => unknown): DuckstreamError => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(DuckstreamError);
      expect((e as DuckstreamError).domain).toBe('user');
      return e as DuckstreamError;
    }
    throw new Error('expected a user error');
  };

  it('csv: a user error asking for a declared schema', () => {
    const e = userErrorOf(() => inferSchema([rawBatch('t', 0, ['1,2'])], { format: 'csv' }));
    expect(e.message).toMatch(/csv source needs a declared schema/);
    expect(e.fix).toMatch(/schema = '.+'/);
  });

  it('no decodable object: a user error', () => {
    const e = userErrorOf(() => inferSchema([rawBatch('t', 0, ['x', '[1]'])], json));
    expect(e.message).toMatch(/no JSON object with fields among the first 1000 records/);
    expect(e.fix).toMatch(/schema = '/);
  });

  it('a timestamp column that is not in the sample: a user error', () => {
    const e = userErrorOf(() => inferSchema([rawBatch('t', 0, ['{"a":1}'])], { ...json, timestampColumns: ['ts'] }));
    expect(e.message).toMatch(/timestamp column 'ts' is not a field of the sampled records \(fields: a\)/);
  });
});
