import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../src/format/index.js';
import type { ValueSchema } from '../../src/source/schema.js';
import { col, micros, rawBatch, utf8Bytes } from './helpers.js';

describe('text values', () => {
  const schema: ValueSchema = [{ name: 'value', type: 'VARCHAR', required: false }];

  it('the whole value as UTF-8; invalid UTF-8 and missing values are dead-lettered', () => {
    const out = decodeRecords(
      [
        rawBatch('logs', 0, [
          'GET /index.html 200',
          '',
          'ünïcödé 😀 {"not":"parsed"}',
          { value: new Uint8Array([0x61, 0x62, 0xc3, 0x28]) },
          { value: null },
          { value: new Uint8Array([0xef, 0xbb, 0xbf, 0x41]) },
        ]),
      ],
      { format: 'text', schema },
    );
    expect(col(out.table, 'value')).toEqual(['GET /index.html 200', '', 'ünïcödé 😀 {"not":"parsed"}', 'A']);
    expect(utf8Bytes(out.table, 'value', 3)).toEqual(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])); // the BOM is kept
    expect(out.deadLetters.map((d) => [d.offset, d.reason])).toEqual([
      [103n, 'value is not valid UTF-8 (bad byte at 2)'],
      [104n, 'record has no value'],
    ]);
  });
});

describe('csv values', () => {
  const schema: ValueSchema = [
    { name: 'a', type: 'INTEGER', required: false },
    { name: 'b', type: 'VARCHAR', required: false },
    { name: 'c', type: 'DOUBLE', required: false },
    { name: 'd', type: 'BOOLEAN', required: false },
    { name: 'e', type: 'TIMESTAMP', required: false },
  ];
  const decode = (lines: (string | Uint8Array)[], delimiter?: string) =>
    decodeRecords(
      [
        rawBatch(
          't',
          0,
          lines.map((value) => ({ value })),
        ),
      ],
      { format: 'csv', schema, csvDelimiter: delimiter },
    );

  it('fields by the text rules, quoting, escaped quotes, empty = NULL', () => {
    const out = decode([
      '1,hello,1.5,true,2024-05-01T00:00:00Z',
      '2,"a,b ""q""",2,FALSE,1714521600000',
      ',,,,',
      '3,"",,,',
      '4,"multi\nline",-1e-3,True,2024-05-01 02:00:00+02:00\r\n',
      '5,ü,0,false,2024-05-01\n',
      '"6","""",,,',
    ]);
    expect(out.deadLetters).toEqual([]);
    expect(col(out.table, 'a')).toEqual([1, 2, null, 3, 4, 5, 6]);
    expect(col(out.table, 'b')).toEqual(['hello', 'a,b "q"', null, '', 'multi\nline', 'ü', '"']);
    expect(col(out.table, 'c')).toEqual([1.5, 2, null, null, -0.001, 0, null]);
    expect(col(out.table, 'd')).toEqual([true, false, null, null, true, false, null]);
    const may1 = micros('2024-05-01T00:00:00Z');
    expect(col(out.table, 'e')).toEqual([may1, may1, null, null, may1, may1, null]);
  });

  it('another delimiter', () => {
    const out = decode(['7;x,y;2.5;false;'], ';');
    expect(out.deadLetters).toEqual([]);
    expect(col(out.table, 'b')).toEqual(['x,y']);
    expect(col(out.table, 'e')).toEqual([null]);
  });

  it('dead letters say what is wrong', () => {
    const out = decode([
      '1,2',
      '1,a,2,true,,extra',
      'x,a,1,true,',
      '1,a,1,yes,',
      '1,a,1,true,tomorrow',
      '"1,a,1,true,',
      'a"b,a,1,true,',
      '"1"x,a,1,true,',
      '1 ,a,1,true,',
      '3000000000,a,1,true,',
      new Uint8Array([0x31, 0x2c, 0xff, 0x2c, 0x2c, 0x2c]),
    ]);
    expect(out.table.numRows).toBe(0);
    expect(out.deadLetters.map((d) => d.reason)).toEqual([
      'invalid csv: expected 5 fields, got 2',
      'invalid csv: expected 5 fields, got 6',
      'field \'a\': expected INTEGER, got "x"',
      'field \'d\': expected BOOLEAN, got "yes"',
      'field \'e\': expected TIMESTAMP, got "tomorrow" (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)',
      'invalid csv: field 1 has no closing quote',
      'invalid csv: field 1 has a quote but does not start with one (quote the whole field)',
      'invalid csv: field 1 has text after its closing quote',
      'field \'a\': expected INTEGER, got "1 "',
      'field \'a\': expected INTEGER, got "3000000000" (out of INTEGER range; declare it BIGINT)',
      'value is not valid UTF-8 (bad byte at 2)',
    ]);
  });

  it('JSON, DATE, BIGINT columns and required fields', () => {
    const s: ValueSchema = [
      { name: 'id', type: 'BIGINT', required: true },
      { name: 'j', type: 'JSON', required: false },
      { name: 'day', type: 'DATE', required: false },
    ];
    const out = decodeRecords([rawBatch('t', 0, ['9223372036854775807,"{""a"":[1,2]}",1970-01-02', '1,[1,,', ',1,', '2,"{""a"":}",', '3,,2024-02-30'])], {
      format: 'csv',
      schema: s,
    });
    expect(col(out.table, 'id')).toEqual([9223372036854775807n]);
    expect(col(out.table, 'j')).toEqual(['{"a":[1,2]}']);
    expect(col(out.table, 'day')).toEqual([1]);
    expect(out.deadLetters.map((d) => d.reason)).toEqual([
      'invalid csv: expected 3 fields, got 4',
      "required field 'id' is null",
      'field \'j\': expected JSON, got "{"a":}" (invalid JSON: expected a JSON value, found \'}\' at byte 5)',
      "field 'day': expected DATE, got \"2024-02-30\" (write dates as 'YYYY-MM-DD')",
    ]);
  });
});
