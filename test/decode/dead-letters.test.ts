import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../src/format/index.js';
import type { ValueSchema } from '../../src/source/schema.js';
import { col, rawBatch } from './helpers.js';

const schema: ValueSchema = [
  { name: 'id', type: 'BIGINT', required: true },
  { name: 'status', type: 'INTEGER', required: false },
  { name: 'b', type: 'BOOLEAN', required: false },
  { name: 's', type: 'VARCHAR', required: false },
  { name: 't', type: 'TIMESTAMP', required: false },
  { name: 'dt', type: 'DATE', required: false },
  { name: 'd', type: 'DOUBLE', required: false },
];

/** The reason each value alone gets (one good record before it proves the row is reused). */
function reasonFor(value: string | Uint8Array | null, options: { maxValueBytes?: number } = {}): string | undefined {
  const out = decodeRecords([rawBatch('t', 0, [{ value: '{"id":0,"s":"ok"}' }, { value }, { value: '{"id":2}' }])], {
    format: 'json',
    schema,
    ...options,
  });
  expect(col(out.table, 'id')).toEqual([0n, 2n]);
  expect(col(out.table, 's')).toEqual(['ok', null]);
  return out.deadLetters[0]?.reason;
}

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('dead-letter reasons', () => {
  const cases: [string, string | Uint8Array | null, string][] = [
    ['no value', null, 'record has no value'],
    ['missing required', '{"s":"x"}', "missing required field 'id'"],
    ['required null', '{"id":null}', "required field 'id' is null"],
    ['INTEGER from string', '{"id":1,"status":"abc"}', 'field \'status\': expected INTEGER, got string "abc"'],
    [
      'INTEGER above int32',
      '{"id":1,"status":2147483648}',
      "field 'status': expected INTEGER, got number 2147483648 (out of INTEGER range; declare it BIGINT)",
    ],
    [
      'INTEGER below int32',
      '{"id":1,"status":-2147483649}',
      "field 'status': expected INTEGER, got number -2147483649 (out of INTEGER range; declare it BIGINT)",
    ],
    ['INTEGER with fraction', '{"id":1,"status":1.5}', "field 'status': expected INTEGER, got number 1.5 (not an integer)"],
    ['BIGINT above int64', '{"id":9223372036854775808}', "field 'id': expected BIGINT, got number 9223372036854775808 (out of BIGINT range)"],
    ['BIGINT exponent beyond 2^53', '{"id":1e300}', "field 'id': expected BIGINT, got number 1e300 (beyond ±2^53 in exponent form: precision would be lost)"],
    ['BIGINT from numeric string', '{"id":"12"}', 'field \'id\': expected BIGINT, got string "12"'],
    ['BIGINT from fraction', '{"id":2.5}', "field 'id': expected BIGINT, got number 2.5 (not an integer)"],
    ['BOOLEAN from string', '{"id":1,"b":"true"}', 'field \'b\': expected BOOLEAN, got string "true"'],
    ['BOOLEAN from number', '{"id":1,"b":1}', "field 'b': expected BOOLEAN, got number 1"],
    ['VARCHAR from number', '{"id":1,"s":42}', "field 's': expected VARCHAR, got number 42"],
    ['VARCHAR from object', '{"id":1,"s":{"a":1}}', 'field \'s\': expected VARCHAR, got object {"a":1}'],
    ['VARCHAR from boolean', '{"id":1,"s":false}', "field 's': expected VARCHAR, got boolean false"],
    ['DOUBLE from string', '{"id":1,"d":"1.5"}', 'field \'d\': expected DOUBLE, got string "1.5"'],
    [
      'TIMESTAMP not ISO',
      '{"id":1,"t":"yesterday"}',
      'field \'t\': expected TIMESTAMP, got string "yesterday" (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)',
    ],
    [
      'TIMESTAMP month 13',
      '{"id":1,"t":"2024-13-01T00:00:00Z"}',
      'field \'t\': expected TIMESTAMP, got string "2024-13-01T00:00:00Z" (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)',
    ],
    [
      'TIMESTAMP bad offset',
      '{"id":1,"t":"2024-01-01T00:00:00+5"}',
      'field \'t\': expected TIMESTAMP, got string "2024-01-01T00:00:00+5" (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)',
    ],
    ['TIMESTAMP from boolean', '{"id":1,"t":true}', "field 't': expected TIMESTAMP, got boolean true"],
    ['TIMESTAMP epoch ms out of range', '{"id":1,"t":1e300}', "field 't': expected TIMESTAMP, got number 1e300 (out of range for epoch milliseconds)"],
    ['DATE Feb 30', '{"id":1,"dt":"2023-02-29"}', "field 'dt': expected DATE, got string \"2023-02-29\" (write dates as 'YYYY-MM-DD')"],
    ['DATE with time', '{"id":1,"dt":"2024-05-01T00:00:00Z"}', "field 'dt': expected DATE, got string \"2024-05-01T00:00:00Z\" (write dates as 'YYYY-MM-DD')"],
    ['DATE from number', '{"id":1,"dt":20240501}', "field 'dt': expected DATE, got number 20240501"],
    ['long actual value trimmed to 60 chars', `{"id":1,"s":[${'1,'.repeat(50)}1]}`, `field 's': expected VARCHAR, got array [${'1,'.repeat(29)}1…`],
    ['not an object: array', '[1,2]', 'expected a JSON object, got array [1,2]'],
    ['not an object: string', ' "str" ', 'expected a JSON object, got string "str"'],
    ['not an object: null', 'null', 'expected a JSON object, got null'],
    ['invalid JSON: truncated', '{"id":1', "invalid JSON: expected ',' or '}', found the end at byte 7"],
    ['invalid JSON: bad literal', '{"id":tru}', "invalid JSON: expected true, false or null, found 't' at byte 6"],
    ['invalid JSON: trailing data', '{"id":1} x', "invalid JSON: expected the end of the value, found 'x' at byte 9"],
    ['invalid JSON: empty', '', 'invalid JSON: expected a JSON value, found the end at byte 0'],
    ['invalid JSON: leading zero', '{"id":01}', "invalid JSON: expected ',' or '}', found '1' at byte 7"],
    ['invalid JSON: trailing comma', '{"id":1,}', "invalid JSON: expected a field name, found '}' at byte 8"],
    ['invalid JSON: single quotes', "{'id':1}", "invalid JSON: expected a field name, found ''' at byte 1"],
    ['invalid JSON: bad number', '{"id":-}', "invalid JSON: expected a valid number, found '-' at byte 6"],
    [
      'invalid JSON: raw newline in string',
      '{"id":1,"s":"a\nb"}',
      'invalid JSON: expected no raw control character inside a string, found byte 0x0a at byte 14',
    ],
    [
      'invalid JSON: bad escape',
      '{"id":1,"s":"a\\x"}',
      "invalid JSON: expected a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX), found '\\' at byte 14",
    ],
    ['invalid JSON: bad error in an ignored field', '{"id":1,"other":[1,}', "invalid JSON: expected a JSON value, found '}' at byte 19"],
    ['invalid JSON: NaN', '{"id":1,"d":NaN}', "invalid JSON: expected a JSON value, found 'N' at byte 12"],
    ['invalid JSON: invalid UTF-8', concat(enc('{"id":1,"s":"a'), bytes(0xff), enc('"}')), 'invalid JSON: expected valid UTF-8, found byte 0xff at byte 14'],
    [
      'invalid JSON: UTF-8 surrogate',
      concat(enc('{"id":1,"s":"'), bytes(0xed, 0xa0, 0x80), enc('"}')),
      'invalid JSON: expected valid UTF-8, found byte 0xed at byte 13',
    ],
    [
      'invalid JSON: deep nesting',
      `{"id":1,"x":${'['.repeat(600)}${']'.repeat(600)}}`,
      "invalid JSON: expected at most 500 levels of nesting, found '[' at byte 511",
    ],
  ];
  for (const [name, value, reason] of cases) {
    it(name, () => expect(reasonFor(value)).toBe(reason));
  }

  it('value over max_value_bytes (default 1 MiB)', () => {
    const big = `{"id":1,"s":"${'x'.repeat(Math.round(2.1 * 1024 * 1024) - 15)}"}`;
    expect(reasonFor(big)).toBe('value is 2.1 MiB, over max_value_bytes 1 MiB');
  });

  it('value over a small max_value_bytes', () => {
    const v = `{"id":1,"s":"${'x'.repeat(135)}"}`;
    expect(v.length).toBe(150);
    expect(reasonFor(v, { maxValueBytes: 100 })).toBe('value is 150 bytes, over max_value_bytes 100 bytes');
  });

  it('value just over 1 MiB says the exact byte counts', () => {
    const v = `{"id":1,"s":"${'x'.repeat(1024 * 1024 - 14)}"}`;
    expect(reasonFor(v)).toBe('value is 1048577 bytes, over max_value_bytes 1 MiB (1048576 bytes)');
  });

  it('a value exactly at max_value_bytes decodes', () => {
    const v = `{"id":1,"s":"${'x'.repeat(85)}"}`;
    expect(v.length).toBe(100);
    const out = decodeRecords([rawBatch('t', 0, [v])], { format: 'json', schema, maxValueBytes: 100 });
    expect(out.deadLetters).toEqual([]);
  });

  it('keeps the original record: bytes, topic, partition, offset, timestamp', () => {
    const key = bytes(0xff, 0x00, 0x01);
    const value = enc('{"status":"abc"}');
    const out = decodeRecords([rawBatch('clicks', 3, [{ value: '{"id":1}' }, { key, value, offset: 42n, timestamp: 1714560000123 }])], {
      format: 'json',
      schema,
    });
    expect(out.numRecords).toBe(2);
    expect(out.table.numRows).toBe(1);
    expect(out.deadLetters).toEqual([
      { topic: 'clicks', partition: 3, offset: 42n, timestamp: 1714560000123, key, value, reason: "missing required field 'id'" },
    ]);
    expect(out.deadLetters[0]!.value).toBe(value);
  });

  it('a record that fails on a later field leaves no partial row behind', () => {
    const out = decodeRecords([rawBatch('t', 0, ['{"id":1,"s":"first","status":1}', '{"id":2,"s":"partial","status":"bad"}', '{"id":3}'])], {
      format: 'json',
      schema,
    });
    expect(out.deadLetters.map((d) => d.offset)).toEqual([101n]);
    expect(col(out.table, 'id')).toEqual([1n, 3n]);
    expect(col(out.table, 's')).toEqual(['first', null]);
    expect(col(out.table, 'status')).toEqual([1, null]);
    expect(col(out.table, '_offset')).toEqual([100n, 102n]);
  });
});
