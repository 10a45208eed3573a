import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../src/format/index.js';
import type { ValueSchema } from '../../src/source/schema.js';
import type { RawRecordBatch } from '../../src/source/source.js';
import { col, packed, rawBatch } from './helpers.js';

/*
 * Edge cases of the decoder's fast paths (json-scanner.ts: strings four bytes at a time, known field names
 * compared as words; text-values.ts: the timestamp hour cache, short integers; columns.ts: short copies), each
 * decoded three ways: one buffer per value, packed into shared Uint8Arrays, and packed into Buffers at every
 * byte alignment (as the log's chunks are). Expected values and reasons are worked out here from the text.
 */

const enc = new TextEncoder();

/** Bytes put before the packed values: chunks this long take the four-bytes-at-a-time paths. */
const PAD = 8192;

/** `batch` packed into Buffers whose byteOffset is `shift` mod 8, after PAD junk bytes (log chunks are long Buffers). */
function packedBuffers(batch: RawRecordBatch, shift: number): RawRecordBatch {
  const p = packed(batch);
  const chunks = p.bytes!.chunks.map((c) => Buffer.concat([Buffer.alloc(shift), Buffer.alloc(PAD, '"'), c]).subarray(shift));
  const valueStart = p.bytes!.valueStart.map((s) => s + PAD);
  const keyStart = p.bytes!.keyStart.map((s) => s + PAD);
  const { topic, partition, count, offsets, timestamps } = p;
  return { topic, partition, count, offsets, timestamps, keys: [], values: [], headers: [], bytes: { ...p.bytes!, chunks, valueStart, keyStart } };
}

/** Decodes `values` every way; checks the ways agree; returns the plain result. */
function decodeAll(values: readonly (string | Uint8Array)[], schema: ValueSchema) {
  const plain = decodeRecords(
    [
      rawBatch(
        't',
        0,
        values.map((value) => ({ value })),
      ),
    ],
    { format: 'json', schema },
  );
  const batches = [
    packed(
      rawBatch(
        't',
        0,
        values.map((value) => ({ value })),
      ),
    ),
  ];
  for (let shift = 0; shift < 8; shift++)
    batches.push(
      packedBuffers(
        rawBatch(
          't',
          0,
          values.map((value) => ({ value })),
        ),
        shift,
      ),
    );
  for (const batch of batches) {
    const other = decodeRecords([batch], { format: 'json', schema });
    expect(other.deadLetters.map((d) => [d.offset, d.reason])).toEqual(plain.deadLetters.map((d) => [d.offset, d.reason]));
    for (const c of schema) expect(col(other.table, c.name)).toEqual(col(plain.table, c.name));
  }
  return plain;
}

const reasons = (out: ReturnType<typeof decodeAll>) => new Map(out.deadLetters.map((d) => [Number(d.offset) - 100, d.reason]));

describe('strings scanned four bytes at a time', () => {
  const schema: ValueSchema = [{ name: 's', type: 'VARCHAR', required: false }];
  const base = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ'; // 46 plain bytes
  const prefix = '{"s":"';

  it('stop at a quote, backslash, control byte, or UTF-8 at every position of a long string', () => {
    const values: string[] = [];
    const expected: unknown[] = [];
    for (let at = 0; at <= base.length; at++) {
      const head = base.slice(0, at);
      const tail = base.slice(at);
      values.push(`${prefix}${head}\\"${tail}"}`, `${prefix}${head}\\\\${tail}"}`, `${prefix}${head}é😀${tail}"}`, `${prefix}${head}\x7f${tail}"}`);
      expected.push(`${head}"${tail}`, `${head}\\${tail}`, `${head}é😀${tail}`, `${head}\x7f${tail}`);
      values.push(`${prefix}${head}"}`); // the closing quote itself at every position
      expected.push(head);
    }
    const out = decodeAll(values, schema);
    expect(out.deadLetters).toEqual([]);
    expect(col(out.table, 's')).toEqual(expected);
  });

  it('reject a raw control byte, a bad escape, a stray quote, or a missing closing quote at the exact byte', () => {
    const values: string[] = [];
    const expected: string[] = [];
    for (let at = 0; at <= base.length; at++) {
      const head = base.slice(0, at);
      const pos = prefix.length + at; // byte position of the inserted byte in the value
      values.push(`${prefix}${head}\x01${base.slice(at)}"}`);
      expected.push(`invalid JSON: expected no raw control character inside a string, found byte 0x01 at byte ${pos}`);
      values.push(`${prefix}${head}\\x${base.slice(at)}"}`);
      expected.push(`invalid JSON: expected a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX), found '\\' at byte ${pos}`);
      values.push(`${prefix}${head}"x${base.slice(at)}"}`);
      expected.push(`invalid JSON: expected ',' or '}', found 'x' at byte ${pos + 1}`);
      values.push(`${prefix}${head}`); // the value ends inside the string
      expected.push(`invalid JSON: expected a closing quote, found the end at byte ${pos}`);
    }
    const out = decodeAll(values, schema);
    expect([...reasons(out).values()]).toEqual(expected);
    expect(out.table.numRows).toBe(0);
  });

  it('reject invalid UTF-8 at every position, and a sequence cut by the end of the value', () => {
    const bad = [[0xff], [0x80], [0xc3, 0x28], [0xe2, 0x82, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]];
    const values: Uint8Array[] = [];
    const expected: string[] = [];
    for (let at = 0; at <= 12; at++) {
      for (const seq of bad) {
        const head = enc.encode(prefix + base.slice(0, at));
        values.push(Uint8Array.from([...head, ...seq, ...enc.encode(base.slice(at) + '"}')]));
        expected.push(`invalid JSON: expected valid UTF-8, found byte 0x${seq[0]!.toString(16)} at byte ${head.length}`);
      }
      // a valid 3-byte sequence cut short by the end of the value (the bytes after it are not the value's)
      const cut = Uint8Array.from([...enc.encode(prefix + base.slice(0, at)), 0xe2, 0x82]);
      values.push(cut);
      expected.push(`invalid JSON: expected valid UTF-8, found byte 0xe2 at byte ${cut.length - 2}`);
    }
    const out = decodeAll(values, schema);
    expect([...reasons(out).values()]).toEqual(expected);
  });

  it('copy values of every length from 0 to 400 bytes exactly (short copies by words, long ones natively)', () => {
    const values: string[] = [];
    const expected: string[] = [];
    for (let len = 0; len <= 400; len++) {
      const s = Array.from({ length: len }, (_, k) => String.fromCharCode(0x21 + ((k * 7 + len) % 90)))
        .join('')
        .replace(/["\\]/g, 'q');
      values.push(JSON.stringify({ s }));
      expected.push(s);
    }
    const out = decodeAll(values, schema);
    expect(out.deadLetters).toEqual([]);
    expect(col(out.table, 's')).toEqual(expected);
  });
});

describe('known field names', () => {
  // names of every length mod 4 (the name and its quote are compared as int32 words), and prefixes of each other
  const names = ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdefg', 'abcdefgh', 'date_time'];
  const schema: ValueSchema = names.map((name) => ({ name, type: 'VARCHAR', required: false }));

  it('match in the usual order, after a change of order, with spaces, escapes, unknown and duplicate fields', () => {
    const record = (order: readonly string[], format: (n: string) => string = (n) => `"${n}":`) => `{${order.map((n) => `${format(n)}"v-${n}"`).join(',')}}`;
    const values = [
      record(names),
      record(names),
      record([...names].reverse()),
      record(names),
      record(names, (n) => `"${n}" :`),
      record(names, (n) => `"${n.replace('a', '\\u0061')}":`), // the same names, escaped
      record(['abcdefgh', 'abcdefghi', 'x', 'abcdefg', 'a']), // a longer name where a shorter one was
      record(['ab', 'ab', 'abc']), // duplicates: the last one wins
      '{"abcd":"first","abcd":"second"}',
      '{"abcdefgh"}', // a known name, then no colon
      '{"abcdefgh',
    ];
    const out = decodeAll(values, schema);
    const r = reasons(out);
    expect(r.get(9)).toBe("invalid JSON: expected ':', found '}' at byte 11");
    expect(r.get(10)).toBe('invalid JSON: expected a closing quote, found the end at byte 10');
    expect(r.size).toBe(2);
    const got = (name: string) => col(out.table, name);
    const all = (n: string) => `v-${n}`;
    expect(got('a')).toEqual([all('a'), all('a'), all('a'), all('a'), all('a'), all('a'), all('a'), null, null]);
    expect(got('abcdefgh')).toEqual([
      all('abcdefgh'),
      all('abcdefgh'),
      all('abcdefgh'),
      all('abcdefgh'),
      all('abcdefgh'),
      all('abcdefgh'),
      all('abcdefgh'),
      null,
      null,
    ]);
    expect(got('abcd')).toEqual([all('abcd'), all('abcd'), all('abcd'), all('abcd'), all('abcd'), all('abcd'), null, null, 'second']);
    expect(got('ab')).toEqual([all('ab'), all('ab'), all('ab'), all('ab'), all('ab'), all('ab'), null, all('ab'), null]);
    expect(got('date_time')).toEqual([...Array(6).fill(all('date_time')), null, null, null]);
  });
});

describe('integers at the edges', () => {
  const schema: ValueSchema = [
    { name: 'b', type: 'BIGINT', required: false },
    { name: 'i', type: 'INTEGER', required: false },
  ];
  const bigints = [
    '0',
    '-0',
    '7',
    '-7',
    '999999999999999',
    '-999999999999999',
    '1000000000000000',
    '9007199254740991',
    '9007199254740992',
    '9007199254740993',
    '-9007199254740993',
    '9223372036854775807',
    '-9223372036854775808',
    '123456789012345678',
  ];

  it('read BIGINT exactly over the whole int64 range, and refuse what is outside', () => {
    const out = decodeAll([...bigints.map((b) => `{"b":${b}}`), '{"b":9223372036854775808}', '{"b":-9223372036854775809}'], schema);
    expect(col(out.table, 'b')).toEqual(bigints.map((b) => BigInt(b)));
    const r = reasons(out);
    expect(r.get(bigints.length)).toBe("field 'b': expected BIGINT, got number 9223372036854775808 (out of BIGINT range)");
    expect(r.get(bigints.length + 1)).toBe("field 'b': expected BIGINT, got number -9223372036854775809 (out of BIGINT range)");
  });

  it('read INTEGER up to the int32 edges', () => {
    const out = decodeAll(['{"i":2147483647}', '{"i":-2147483648}', '{"i":2147483648}', '{"i":-0}'], schema);
    expect(col(out.table, 'i')).toEqual([2147483647, -2147483648, 0]);
    expect(reasons(out).get(2)).toBe("field 'i': expected INTEGER, got number 2147483648 (out of INTEGER range; declare it BIGINT)");
  });
});

/** Independent reading of the timestamp forms the decoder accepts: epoch µs, or null when it must refuse. */
function oracleMicros(s: string): bigint | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:\d{2}|[+-]\d{4})?)?$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x))) as number[];
  const days = new Date(Date.UTC(2000, mo! - 1, 1));
  days.setUTCFullYear(y!);
  const lastDay = new Date(Date.UTC(2000, mo!, 0));
  lastDay.setUTCFullYear(y!, mo!, 0);
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > lastDay.getUTCDate() || h > 23 || mi > 59 || sec > 59) return null;
  let offset = 0;
  const z = m[8];
  if (z && z !== 'Z' && z !== 'z') {
    const oh = Number(z.slice(1, 3));
    const om = Number(z.slice(-2));
    if (oh > 23 || om > 59) return null;
    offset = (z[0] === '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  const date = new Date(0);
  date.setUTCFullYear(y!, mo! - 1, d!);
  const seconds = BigInt(date.getTime() / 1000 + h * 3600 + mi * 60 + sec - offset);
  const fraction = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  return seconds * 1000000n + fraction;
}

describe('timestamps after a timestamp with the same date and hour', () => {
  const schema: ValueSchema = [{ name: 't', type: 'TIMESTAMP', required: false }];
  const forms = [
    '2015-07-15 00:00:00.001',
    '2015-07-15 00:00:00.002',
    '2015-07-15 00:59:59.999999',
    '2015-07-15 00:60:00',
    '2015-07-15 00:5',
    '2015-07-15 00:00',
    '2015-07-15 00',
    '2015-07-15 00:00:00.',
    '2015-07-15 00:00:00.1234567891',
    '2015-07-15 00:00:00+01:30',
    '2015-07-15 00:00:00-0130',
    '2015-07-15 00:00:00+24:00',
    '2015-07-15 00:00:00Zx',
    '2015-07-15T00:00:00.000Z',
    '2015-07-15t00:00:00z',
    '2015-07-15',
    '2015-07-15x00:00',
    '2015-07-15T24:00:00Z',
    '2016-02-29T23:01:02Z',
    '2016-02-29T23:01:02.5+00:00',
    '2015-02-29T23:01:02Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '1969-12-31T23:59:59.999999Z',
    '2026-01-01T00:00:00.000Z',
    '2026-01-01T00:00:01.000Z',
    // neighbours that differ from '2015-07-15 00' in one byte of the prefix only
    '2015-07-15 01:00:00',
    '2015-07-15 10:00:00',
    '2015-07-15 20:00:00',
    '2015-07-15 30:00:00',
    '2015-07-15 0a:00:00',
    '2015-07-15T00:00:00',
    '2015-07-16 00:00:00',
    '2015-07-25 00:00:00',
    '2015-08-15 00:00:00',
    '2015-17-15 00:00:00',
    '2016-07-15 00:00:00',
    '3015-07-15 00:00:00',
    '2015-07-15 00:00:00',
    '2015/07/15 00:00:00',
    '2015-07-35 00:00:00',
    '2015-06-31 00:00:00',
  ];

  it('parse exactly as without the cache, whatever came before', () => {
    // every form after every other one (the cache holds the previous date-and-hour prefix)
    const texts: string[] = [];
    for (const a of forms) for (const b of forms) texts.push(a, b);
    const out = decodeAll(
      texts.map((t) => JSON.stringify({ t })),
      schema,
    );
    const r = reasons(out);
    const stored = col(out.table, 't');
    let row = 0;
    texts.forEach((t, i) => {
      const expected = oracleMicros(t);
      if (expected === null) expect(r.get(i), t).toMatch(/^field 't': expected TIMESTAMP, got string /);
      else {
        expect(r.get(i), t).toBeUndefined();
        expect(stored[row++], t).toBe(expected);
      }
    });
    expect(row).toBe(stored.length);
  });
});
