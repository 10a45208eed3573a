import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { createTableFromArrow } from '../../src/arrow/arrow-to-duckdb.js';
import { ingestSourceBatch } from '../../src/arrow/ingest-source-batch.js';
import { decodeForDuckdb } from '../../src/source/decode/duckdb-json.js';
import { decodeRecords, type DecodeOptions } from '../../src/source/decode/index.js';
import { createLog } from '../../src/log/index.js';
import { LogSource } from '../../src/source/log-source.js';
import { parseSchemaText } from '../../src/source/schema.js';
import type { RawRecordBatch } from '../../src/source/source.js';
import { withConnection } from '../arrow/helpers.js';
import { rawBatch } from './helpers.js';

/*
 * Differential test of the DuckDB JSON fast path: the same records through the JS decoder (the reference) and
 * through decodeForDuckdb + ingestSourceBatch must give identical tables (row order included) and identical dead
 * letters (reasons included); and the fast path must really have been taken.
 */

const SCHEMA = parseSchemaText('i INTEGER, l BIGINT, d DOUBLE, s VARCHAR, b BOOLEAN, t TIMESTAMP, dt DATE, r VARCHAR NOT NULL');
const OPTIONS: DecodeOptions = { format: 'json', schema: SCHEMA, maxValueBytes: 400 };

/** A plain record that both paths read: the filler that makes a batch worth DuckDB's while. */
function plain(k: number): string {
  return JSON.stringify({ i: k, l: k * 1_000_003, d: k / 7, s: `s${k}`, b: k % 2 === 0, t: `2024-05-01T12:00:${String(k % 60).padStart(2, '0')}.${k % 1000}Z`, dt: '2024-02-29', r: `r${k}` });
}

/** Edge cases: each one is a record on its own, among plain ones. */
const EDGES: (string | Uint8Array | null)[] = [
  '{"r":"x","i":1.5}', '{"r":"x","i":1.0}', '{"r":"x","i":1e2}', '{"r":"x","i":2147483647}', '{"r":"x","i":2147483648}', '{"r":"x","i":-2147483648}',
  '{"r":"x","i":123456789}', '{"r":"x","i":-0}', '{"r":"x","i":"12"}', '{"r":"x","i":true}',
  '{"r":"x","l":9223372036854775807}', '{"r":"x","l":9223372036854775808}', '{"r":"x","l":-9223372036854775808}', '{"r":"x","l":123456789012345678}',
  '{"r":"x","l":1.5}', '{"r":"x","l":1e15}', '{"r":"x","l":1e300}', '{"r":"x","l":18446744073709551615}', '{"r":"x","l":-0}',
  '{"r":"x","d":-0}', '{"r":"x","d":-0.0}', '{"r":"x","d":0.1}', '{"r":"x","d":1e999}', '{"r":"x","d":-1e999}', '{"r":"x","d":1e-400}', '{"r":"x","d":5e-324}',
  '{"r":"x","d":1.7976931348623157e308}', '{"r":"x","d":9007199254740993}', '{"r":"x","d":18446744073709551616}', '{"r":"x","d":123456789012345678901234567890}',
  '{"r":"x","d":0.30000000000000004}', '{"r":"x","d":1E2}', '{"r":"x","d":"1.5"}', '{"r":"x","d":NaN}', '{"r":"x","d":Infinity}', '{"r":"x","d":-Infinity}', '{"r":"x","d":-0.5}',
  '{"r":"x","s":5}', '{"r":"x","s":{"a":1}}', '{"r":"x","s":[1]}', '{"r":"x","s":"a\\u0000b"}', '{"r":"x","s":"\\ud83d\\ude00"}', '{"r":"x","s":"\\ud800"}', '{"r":"x","s":"\\udc00x"}',
  '{"r":"x","s":"tab\\t\\"q\\" \\/ \\\\ é 😀"}', '{"r":"x","s":"\u007f"}', '{"r":"x","s":"\u2028"}', '{"r":"x","s":"raw\ttab"}', '{"r":"x","s":""}',
  '{"r":"x","b":1}', '{"r":"x","b":"true"}', '{"r":"x","b":null}', '{"r":"x","b":false}',
  '{"r":"x","t":"2024-05-01T12:00:00Z"}', '{"r":"x","t":"2024-05-01 12:00:00"}', '{"r":"x","t":"2024-05-01t12:00:00z"}', '{"r":"x","t":"2024-05-01T12:00Z"}',
  '{"r":"x","t":"2024-05-01T12:00:00+02:00"}', '{"r":"x","t":"2024-05-01T12:00:00-0130"}', '{"r":"x","t":"2024-05-01T24:00:00"}', '{"r":"x","t":"2024-02-30T00:00:00"}',
  '{"r":"x","t":"2024-05-01T12:00:00.123456789Z"}', '{"r":"x","t":"2024-05-01T12:00:00.1234567"}', '{"r":"x","t":"2024-05-01T12:00:00."}', '{"r":"x","t":"2024-05-01"}',
  '{"r":"x","t":"0000-01-01T00:00:00"}', '{"r":"x","t":"2024-05-01T12:00:60"}', '{"r":"x","t":1714564800000}', '{"r":"x","t":1714564800000.5}', '{"r":"x","t":-1}',
  '{"r":"x","t":9e12}', '{"r":"x","t":9000000000001}', '{"r":"x","t":1e3}', '{"r":"x","t":"2024-05-01T12:00:00\\u005a"}', '{"r":"x","t":true}',
  '{"r":"x","dt":"2024-02-29"}', '{"r":"x","dt":"2023-02-29"}', '{"r":"x","dt":"0000-01-01"}', '{"r":"x","dt":"0001-01-01"}', '{"r":"x","dt":"2024-1-1"}', '{"r":"x","dt":20240101}',
  '{"r":"x","dt":"2024-05-01T00:00:00"}',
  '{"i":1}', '{"r":null}', '{"r":"x","r":"y"}', '{"r":"x","i":1,"i":2}', '{"\\u0072":"esc"}', '{"r":"x","\\u0069":7}', '{"r":"x",}', '{"r":"x","z":[1,2,]}',
  '{"r":"x","z":NaN}', '{"r":"x","z":[nan]}', '{"r":"x","z":-inf}', '{"r":"x","z":{"a":1,"a":2}}', '{"r":"x","z":1e999}', '{"r":"x","z":"\\ud800"}',
  `{"r":"x","z":${'['.repeat(600)}${']'.repeat(600)}}`, `{"r":"x","z":${'['.repeat(400)}${']'.repeat(400)}}`, '{"r":"x"} ', ' {"r":"x"}', '{"r" : "x" ,\n"i" :\r\n 3}',
  '{"r":"x"}{"r":"y"}', '[{"r":"x"}]', '"x"', '1', 'null', '', ' ', '{"r":"x"', '{"r":"x" /* c */}', "{'r':'x'}", '{r:"x"}', '{"r":"x","i":01}', '{"r":"x","i":+1}',
  '{"r":"x","i":.5}', '{"r":"x","i":1.}', '{"r":"x","s":"line\nbreak"}', '{"r":"x","R":"y"}', `{"r":"${'x'.repeat(500)}"}`, null,
  new Uint8Array([0x7b, 0x22, 0x72, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), new Uint8Array([0x7b, 0x22, 0x72, 0x22, 0x3a, 0x22, 0xc3, 0xa9, 0x22, 0x7d]),
  new Uint8Array([0x7b, 0x22, 0x72, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x22, 0x72, 0x22, 0x3a, 0x22, 0x78, 0x22, 0x7d]),
];

/** Deterministic PRNG (mulberry32) so a failure replays. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random field values, mostly well-formed, in the forms producers write. */
function randomRecord(random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const num = () => pick([
    String(Math.floor(random() * 1000)), String(-Math.floor(random() * 1e9)), String(Math.floor(random() * 1e18)), String(random() * 10 ** Math.floor(random() * 30 - 10)),
    (random() * 1e6).toExponential(Math.floor(random() * 17)), (random() - 0.5).toFixed(Math.floor(random() * 20)), '-0', '0', '1e5', '2.5E-3', String(random()),
    String(Number.MAX_SAFE_INTEGER + Math.floor(random() * 1000)), '1e99', '123e-99', '4.9e-324',
  ]);
  const str = () => JSON.stringify(pick(['', 'abc', 'é😀', 'a"b\\c', 'tab\t', '\u0000', '2024-05-01T12:00:00Z', 'x'.repeat(Math.floor(random() * 40))]));
  const ts = () => pick([
    `"2024-0${1 + Math.floor(random() * 9)}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}T${String(Math.floor(random() * 24)).padStart(2, '0')}:${String(Math.floor(random() * 60)).padStart(2, '0')}:${String(Math.floor(random() * 60)).padStart(2, '0')}${pick(['', '.5', '.123', '.123456', '.1234567'])}${pick(['', 'Z', '+01:00'])}"`,
    String(1_700_000_000_000 + Math.floor(random() * 1e10)), '"2024-05-01"', '"2024-05-01 01:02:03"', num(),
  ]);
  const value = (type: string): string => {
    if (random() < 0.08) return 'null';
    if (random() < 0.05) return pick([num(), str(), 'true', '[1]', '{}']);
    switch (type) {
      case 'INTEGER': return pick([String(Math.floor(random() * 2e5) - 1e5), String(Math.floor(random() * 4e9) - 2e9), num()]);
      case 'BIGINT': return pick([String(Math.floor(random() * 1e15)), num()]);
      case 'DOUBLE': return num();
      case 'BOOLEAN': return pick(['true', 'false']);
      case 'TIMESTAMP': return ts();
      case 'DATE': return pick(['"2024-02-29"', '"2023-12-31"', '"1999-01-01"', str()]);
      default: return str();
    }
  };
  const fields = SCHEMA.filter((c) => c.required || random() < 0.9).map((c) => `"${c.name}":${value(c.type)}`);
  if (random() < 0.3) fields.push(`"extra":${pick(['[1,2,{"a":null}]', '{"x":"y"}', '"z"', '1.5e3'])}`);
  for (let k = fields.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [fields[k], fields[j]] = [fields[j]!, fields[k]!];
  }
  const sep = random() < 0.2 ? ', ' : ',';
  const colon = random() < 0.2 ? ': ' : ':';
  let text = `{${fields.join(sep)}}`.replaceAll('":', `"${colon}`);
  if (random() < 0.05) {
    // a few random byte edits
    const chars = Array.from(text);
    const at = Math.floor(random() * chars.length);
    chars.splice(at, random() < 0.5 ? 1 : 0, pick([',', '}', ']', '"', 'N', '\\', ' ', '0', '-']));
    text = chars.join('');
  }
  return text;
}

/** Records → one raw batch, half of them per record views, half as positions into a shared buffer (as the log reads). */
function batches(values: readonly (string | Uint8Array | null)[]): RawRecordBatch[] {
  const half = Math.floor(values.length / 2);
  return [rawBatch('t', 0, values.slice(0, half).map((value) => ({ value }))), columnar('t', 1, values.slice(half))];
}

/** A batch whose values lie in one buffer with junk bytes between them (the embedded log's layout). */
function columnar(topic: string, partition: number, values: readonly (string | Uint8Array | null)[]): RawRecordBatch {
  const views = rawBatch(topic, partition, values.map((value) => ({ value })));
  const parts: number[] = [];
  const valueStart = new Uint32Array(values.length);
  const valueLength = new Int32Array(values.length);
  views.values.forEach((v, i) => {
    parts.push(0x2c, 0x7d, 0x0a, 0xff, 0x5d);
    valueStart[i] = parts.length;
    valueLength[i] = v === null ? -1 : v.length;
    if (v) parts.push(...v);
  });
  const chunk = Uint8Array.from(parts);
  return {
    ...views,
    bytes: { chunks: [chunk], chunkOf: new Uint32Array(values.length), keyStart: new Uint32Array(values.length), keyLength: new Int32Array(values.length).fill(-1), valueStart, valueLength },
  };
}

async function tableText(conn: DuckDBConnection, table: string): Promise<string[][]> {
  const reader = await conn.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM ${table}`);
  return reader.getRows().map((r) => r.map((v) => (v === null ? 'NULL' : String(v))));
}

/** Both paths over the same records; returns how many records DuckDB decoded. */
async function compare(values: readonly (string | Uint8Array | null)[], options: DecodeOptions = OPTIONS): Promise<number> {
  return withConnection(async (conn) => {
    const reference = decodeRecords(batches(values), options);
    await createTableFromArrow(conn, 'ref', reference.table, { temporary: true });
    const fast = decodeForDuckdb(batches(values), options);
    const ingested = await ingestSourceBatch(conn, 'fast', fast);
    expect(ingested.fallback).toBeUndefined();
    const columns = async (t: string) => (await conn.runAndReadAll(`DESCRIBE ${t}`)).getRows().map((r) => `${String(r[0])} ${String(r[1])}`);
    expect(await columns('fast')).toEqual(await columns('ref'));
    expect(await tableText(conn, 'fast')).toEqual(await tableText(conn, 'ref'));
    const letters = (b: typeof reference) => b.deadLetters.map((d) => ({ ...d, key: d.key && [...d.key], value: d.value && [...d.value] }));
    expect(letters(ingested.batch)).toEqual(letters(reference));
    expect(fast.numRecords).toBe(values.length);
    return ingested.duckdbRows;
  });
}

describe('DuckDB JSON fast path = JS decoder', () => {
  it('on edge cases, each among plain records', async () => {
    const values: (string | Uint8Array | null)[] = [];
    EDGES.forEach((edge, k) => values.push(plain(k), edge));
    for (let k = 0; k < 100; k++) values.push(plain(1000 + k));
    const fastRecords = await compare(values);
    expect(fastRecords).toBeGreaterThanOrEqual(100 + EDGES.length);
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`on 3,000 random records (seed ${seed})`, async () => {
      const random = prng(seed);
      const values = Array.from({ length: 3000 }, () => randomRecord(random));
      const fastRecords = await compare(values);
      expect(fastRecords).toBeGreaterThan(150);
    });
  }

  it('with epoch-millisecond timestamps, mixed with text ones', async () => {
    const values = Array.from({ length: 200 }, (_, k) => `{"r":"x","t":${1_700_000_000_000 + k * 1001}}`);
    values.push('{"r":"x","t":"2024-05-01T12:00:00Z"}', '{"r":"x","t":-5}', '{"r":"x","t":12.5}');
    expect(await compare(values)).toBe(202);
  });

  it('leaves JSON columns, other formats and tiny batches to the JS decoder', () => {
    const json = { format: 'json', schema: parseSchemaText('a JSON') } as const;
    expect(decodeForDuckdb(batches(['{"a":1}']), json).duckdb).toBeUndefined();
    expect(decodeForDuckdb(batches(['x']), { format: 'text', schema: parseSchemaText('value VARCHAR') }).duckdb).toBeUndefined();
    expect(decodeForDuckdb(batches([plain(1)]), OPTIONS).duckdb).toBeUndefined();
  });

  it('falls back to the JS decoder for the whole batch when DuckDB fails', async () => {
    await withConnection(async (conn) => {
      const values = Array.from({ length: 100 }, (_, k) => plain(k));
      const batch = decodeForDuckdb(batches(values), OPTIONS);
      const broken = { ...batch, table: batch.table, deadLetters: [], duckdb: { ...batch.duckdb!, schema: parseSchemaText('r JSON') } };
      const ingested = await ingestSourceBatch(conn, 'x', broken);
      expect(ingested.fallback).toMatch(/no DuckDB fast path/);
      expect(Number((await conn.runAndReadAll('SELECT count(i) FROM x')).getRows()[0]![0])).toBe(100);
    });
  });

  it('through the log source (values in the read buffers), with keys and dead letters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-duckdb-json-'));
    try {
      const log = await createLog(join(dir, 'log'), { partitions: 2 });
      const random = prng(7);
      for (let p = 0; p < 2; p++) {
        const records = Array.from({ length: 1500 }, (_, k) => ({ key: k % 3 === 0 ? null : `k${k}é`, value: k % 97 === 0 ? null : randomRecord(random), timestamp: 1_700_000_000_000 + k }));
        await log.append(p, records);
      }
      await log.close();
      const open = (jsonDecode: 'js' | 'duckdb') =>
        LogSource.open('events', join(dir, 'log'), { format: 'json', schema: SCHEMA, maxValueBytes: 300, startingPosition: 'earliest', timestampColumns: [], jsonDecode });
      const ranges = [0, 1].map((partition) => ({ topic: 'log', partition, from: 0n, until: 1500n }));
      const [js, duck] = [await open('js'), await open('duckdb')];
      await withConnection(async (conn) => {
        const reference = await ingestSourceBatch(conn, 'ref', await js.read(ranges));
        const read = await duck.read(ranges);
        expect(read.duckdb).toBeDefined();
        const fast = await ingestSourceBatch(conn, 'fast', read);
        expect(fast.fallback).toBeUndefined();
        expect(fast.duckdbRows).toBeGreaterThan(100);
        expect(await tableText(conn, 'fast')).toEqual(await tableText(conn, 'ref'));
        expect(fast.batch.deadLetters.map((d) => [d.offset, d.reason])).toEqual(reference.batch.deadLetters.map((d) => [d.offset, d.reason]));
        expect(fast.batch.deadLetters.length).toBeGreaterThan(30);
      });
      await js.close();
      await duck.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
