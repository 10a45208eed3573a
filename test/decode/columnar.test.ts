import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeRecords, TEXT_SCHEMA, type DecodeOptions } from '../../src/format/index.js';
import type { RawRecordBatch } from '../../src/source/source.js';
import { packed, rawBatch } from './helpers.js';

/** Decoding the packed buffers gives exactly what decoding one view per record gives: rows, dead letters, bytes. */
function expectSameDecode(batches: RawRecordBatch[], options: DecodeOptions): void {
  const views = decodeRecords(batches, options);
  const columnar = decodeRecords(batches.map(packed), options);
  expect(columnar.numRecords).toBe(views.numRecords);
  expect(columnar.deadLetters).toEqual(views.deadLetters);
  expect(arrow.tableToIPC(columnar.table, 'stream')).toEqual(arrow.tableToIPC(views.table, 'stream'));
}

const records = [
  { value: '{"id":1,"name":"a","ts":"2024-05-01T12:00:00Z","ok":true,"x":1.5}', key: 'k1' },
  { value: '{"id":2,"name":"b\\u00e9","ts":1714564800000,"ok":false,"x":2}', key: null },
  { value: '{"id":3', key: 'k3' }, // truncated: the junk after it must not complete it
  { value: '{"id":"three"}', key: 'ü-key' },
  { value: null, key: 'no value' },
  { value: '[1,2]', key: new Uint8Array([0xff, 0xfe]) },
  { value: '{"id":4,"name":"' + 'x'.repeat(200) + '"}', key: 'k'.repeat(100) },
  { value: ' {"id" : 5 , "x" : -0.25e1 } ', key: '' },
  { value: '{"id":6,"name":"\\"quoted\\""}', key: 'k6' },
  { value: '{"id":7,"extra":{"nested":[1,{"a":null}]}}', key: 'k7' },
];

describe('decoding from shared buffers (RawRecordBatch.bytes) matches decoding per-record views', () => {
  it('json: rows, metadata, keys (null, non-UTF-8, long) and dead letters with their bytes', () => {
    expectSameDecode([rawBatch('t', 0, records), rawBatch('t', 3, records.slice(2))], {
      format: 'json',
      schema: [
        { name: 'id', type: 'BIGINT', required: true },
        { name: 'name', type: 'VARCHAR', required: false },
        { name: 'ts', type: 'TIMESTAMP', required: false },
        { name: 'ok', type: 'BOOLEAN', required: false },
        { name: 'x', type: 'DOUBLE', required: false },
        { name: 'extra', type: 'JSON', required: false },
      ],
    });
  });

  it('json: values over max_value_bytes are dead-lettered by their length', () => {
    expectSameDecode([rawBatch('t', 0, records)], { format: 'json', schema: [{ name: 'id', type: 'BIGINT', required: false }], maxValueBytes: 40 });
  });

  it('text and csv', () => {
    const lines = ['a,1', '"b,c",2', 'd', '"unclosed,3', 'e,x', 'f,4\r\n', new Uint8Array([0x67, 0xff, 0x2c, 0x35])];
    const batch = rawBatch(
      't',
      1,
      lines.map((value) => ({ value })),
    );
    expectSameDecode([batch], { format: 'text', schema: TEXT_SCHEMA });
    expectSameDecode([batch], {
      format: 'csv',
      schema: [
        { name: 'name', type: 'VARCHAR', required: false },
        { name: 'n', type: 'INTEGER', required: false },
      ],
    });
  });

  it('an empty batch and a batch of only dead letters', () => {
    expectSameDecode([rawBatch('t', 0, []), rawBatch('t', 1, ['nope', '{"id":"x"}'])], {
      format: 'json',
      schema: [{ name: 'id', type: 'BIGINT', required: false }],
    });
  });
});
