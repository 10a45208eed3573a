import { expect, it } from 'vitest';
import { decodeRecords } from '../../src/format/index.js';
import { kafkaRecordBytes } from '../../src/connectors/kafka/record-bytes.js';
import type { ValueSchema } from '../../src/source/schema.js';
import type { RawRecordBatch } from '../../src/source/source.js';
import { col, rawBatch } from '../decode/helpers.js';

/** Values (and keys) as kafkajs gives them: slices of a few large response buffers, with other bytes between. */
function asFetched(
  values: readonly (string | null)[],
  keys: readonly (string | null)[],
  perBuffer: number,
): { keys: (Buffer | null)[]; values: (Buffer | null)[] } {
  const outKeys: (Buffer | null)[] = [];
  const outValues: (Buffer | null)[] = [];
  for (let from = 0; from < values.length; from += perBuffer) {
    const parts: Buffer[] = [];
    const spans: [number, number, number, number][] = [];
    let pos = 0;
    const put = (s: string | null): [number, number] => {
      if (s === null) return [-1, -1];
      const junk = Buffer.from(`~header${from}~`);
      const b = Buffer.from(s);
      parts.push(junk, b);
      pos += junk.length;
      const at = pos;
      pos += b.length;
      return [at, b.length];
    };
    for (let i = from; i < Math.min(values.length, from + perBuffer); i++) spans.push([...put(keys[i]!), ...put(values[i]!)]);
    // more than 4 KiB, so the decoder's chunk paths apply
    const buffer = Buffer.concat([...parts, Buffer.alloc(5000, '"')]);
    for (const [ks, kl, vs, vl] of spans) {
      outKeys.push(ks < 0 ? null : buffer.subarray(ks, ks + kl));
      outValues.push(vs < 0 ? null : buffer.subarray(vs, vs + vl));
    }
  }
  return { keys: outKeys, values: outValues };
}

it('positions keys and values in the buffers kafkajs sliced them from; the decode is the same as value by value', () => {
  const n = 500;
  const values = Array.from({ length: n }, (_, i) =>
    i % 50 === 7
      ? null
      : i % 31 === 3
        ? `{"id":${i},"name":"bad`
        : JSON.stringify({ id: i, name: `name ${'x'.repeat(i % 13)}${i}`, ts: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z` }),
  );
  const keys = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `k${i}`));
  const fetched = asFetched(values, keys, 64);
  const bytes = kafkaRecordBytes(fetched.keys, fetched.values)!;
  expect(bytes).toBeDefined();
  expect(bytes.chunks.length).toBe(Math.ceil(n / 64));
  const text = (chunk: number, start: number, length: number) =>
    length < 0 ? null : Buffer.from(bytes.chunks[chunk]!.subarray(start, start + length)).toString();
  for (let i = 0; i < n; i++) {
    expect(text(bytes.chunkOf[i]!, bytes.valueStart[i]!, bytes.valueLength[i]!)).toBe(values[i]);
    expect(text(bytes.chunkOf[i]!, bytes.keyStart[i]!, bytes.keyLength[i]!)).toBe(keys[i]);
  }

  const schema: ValueSchema = [
    { name: 'id', type: 'INTEGER', required: true },
    { name: 'name', type: 'VARCHAR', required: false },
    { name: 'ts', type: 'TIMESTAMP', required: false },
  ];
  const plain = rawBatch(
    't',
    0,
    values.map((value, i) => ({ value, key: keys[i] })),
  );
  const positioned: RawRecordBatch = { ...plain, keys: fetched.keys, values: fetched.values, bytes };
  const a = decodeRecords([plain], { format: 'json', schema });
  const b = decodeRecords([positioned], { format: 'json', schema });
  expect(b.table.numRows).toBe(a.table.numRows);
  expect(a.table.numRows).toBe(values.filter((v, i) => v !== null && i % 31 !== 3).length);
  for (const c of ['_key', '_offset', 'id', 'name', 'ts']) expect(col(b.table, c)).toEqual(col(a.table, c));
  const letter = (d: (typeof a.deadLetters)[number]) => [
    d.offset,
    d.reason,
    d.key && Buffer.from(d.key).toString(),
    d.value && Buffer.from(d.value).toString(),
  ];
  expect(b.deadLetters.map(letter)).toEqual(a.deadLetters.map(letter));
});

it('is undefined when a key lies in another buffer than its value; all-null records need no buffer', () => {
  // (not Buffer.from: small Buffers share Node's pool, which is one buffer, and that case is positioned fine)
  const v = new TextEncoder().encode('xx{"a":1}yy').subarray(2, 9);
  expect(kafkaRecordBytes([new TextEncoder().encode('k')], [v])).toBeUndefined();
  const empty = kafkaRecordBytes([null, null], [null, null])!;
  expect([...empty.valueLength]).toEqual([-1, -1]);
  expect([...empty.keyLength]).toEqual([-1, -1]);
  expect(empty.chunks).toEqual([]);
  // a key without a value still has its position
  const kv = Buffer.from('..key..');
  const onlyKey = kafkaRecordBytes([kv.subarray(2, 5)], [null])!;
  expect(Buffer.from(onlyKey.chunks[onlyKey.chunkOf[0]!]!.subarray(onlyKey.keyStart[0]!, onlyKey.keyStart[0]! + onlyKey.keyLength[0]!)).toString()).toBe('key');
});
