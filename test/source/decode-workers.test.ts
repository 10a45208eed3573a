import * as arrow from 'apache-arrow';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptFileError, DuckstreamError } from '../../src/errors.js';
import { createLog, type AppendRecord } from '../../src/log/index.js';
import type { OffsetRange } from '../../src/plan/offset-range.js';
import { LogSource, type LogSourceOptions } from '../../src/source/log-source.js';
import { parseSchemaText, type ValueSchema } from '../../src/source/schema.js';
import type { SourceBatch } from '../../src/source/source.js';

/*
 * Differential test of the decode worker pool: the same ranges read on the main thread (decodeWorkers: 0, the
 * reference) and on worker threads must give the same table (schema, rows in order, nulls), the same dead letters
 * (order, reasons, bytes) and the same errors (class, message).
 */

const SCHEMA = parseSchemaText('i INTEGER, l BIGINT, d DOUBLE, s VARCHAR, b BOOLEAN, t TIMESTAMP, dt DATE, j JSON, r VARCHAR NOT NULL');
const MAX_VALUE_BYTES = 300;
const PARTITIONS = 4;

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** A record of every kind the decoder treats differently: plain, nulls, bad JSON, wrong types, too large, no value. */
function record(random: () => number, k: number): AppendRecord {
  const kind = Math.floor(random() * 20);
  const plain = { i: k, l: k * 1_000_003, d: k / 7, s: `s${k}é`, b: k % 2 === 0, t: `2024-05-01T12:00:${String(k % 60).padStart(2, '0')}.${k % 1000}Z`, dt: '2024-02-29', j: { a: [k] }, r: `r${k}` };
  let value: string | Uint8Array | null = JSON.stringify(plain);
  if (kind === 0) value = null;
  else if (kind === 1) value = '{"r":"x","i":';
  else if (kind === 2) value = JSON.stringify({ r: 'x', i: null, s: null, b: null, t: null, j: null });
  else if (kind === 3) value = JSON.stringify({ ...plain, s: 'y'.repeat(400) });
  else if (kind === 4) value = JSON.stringify({ ...plain, r: null });
  else if (kind === 5) value = JSON.stringify({ ...plain, i: 'twelve' });
  else if (kind === 6) value = '[1,2]';
  else if (kind === 7) value = new Uint8Array([0x7b, 0x22, 0x72, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // {"r":"\xff"}
  else if (kind === 8) value = JSON.stringify({ r: 'only r' });
  const key = kind % 3 === 0 ? null : kind === 10 ? new Uint8Array([0xc3, 0x28]) : `k${k % 50}`;
  const headers: AppendRecord['headers'] = kind === 11 ? [['h', 'v']] : undefined;
  return { key, value, timestamp: 1_700_000_000_000 + k * 13, ...(headers ? { headers } : {}) };
}

let dir: string;
let logDir: string;
/** Records per partition; partition 3 holds only dead letters. */
const COUNTS = [2500, 1800, 2200, 40];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ds-decode-workers-'));
  logDir = join(dir, 'events');
  // small segments: ranges cross several segment files
  const log = await createLog(logDir, { partitions: PARTITIONS, segmentBytes: 64 * 1024, indexIntervalBytes: 1024 });
  const random = prng(11);
  for (let p = 0; p < PARTITIONS; p++) {
    const records = Array.from({ length: COUNTS[p]! }, (_, k) => (p === 3 ? { value: k % 2 === 0 ? null : 'not json' } : record(random, k)));
    for (let at = 0; at < records.length; at += 700) await log.append(p, records.slice(at, at + 700));
  }
  await log.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function open(workers: number, extra: Partial<LogSourceOptions> = {}, path = logDir): Promise<LogSource> {
  return LogSource.open('events', path, {
    format: 'json', schema: SCHEMA, maxValueBytes: MAX_VALUE_BYTES, startingPosition: 'earliest', timestampColumns: [],
    decodeWorkers: workers, decodeWorkersMinRecords: 0, ...extra,
  });
}

const range = (partition: number, from: number, until: number): OffsetRange => ({ topic: 'events', partition, from: BigInt(from), until: BigInt(until) });

function schemaText(table: arrow.Table): string[] {
  return table.schema.fields.map((f) => `${f.name} ${String(f.type)} ${f.nullable} ${JSON.stringify([...f.metadata])}`);
}

/** Every value of every row, nulls included, in row order. */
function rows(table: arrow.Table): unknown[][] {
  const out: unknown[][] = [];
  for (let i = 0; i < table.numRows; i++) out.push(table.schema.fields.map((f) => table.getChild(f.name)!.get(i)));
  return out;
}

function expectSame(pooled: SourceBatch, reference: SourceBatch): void {
  expect(schemaText(pooled.table)).toEqual(schemaText(reference.table));
  expect(pooled.table.numRows).toBe(reference.table.numRows);
  expect(rows(pooled.table)).toEqual(rows(reference.table));
  expect(pooled.table.schema.fields.map((f) => pooled.table.getChild(f.name)!.nullCount)).toEqual(reference.table.schema.fields.map((f) => reference.table.getChild(f.name)!.nullCount));
  // same objects, Buffers where the reference has Buffers
  expect(pooled.deadLetters).toStrictEqual(reference.deadLetters);
  expect(pooled.numRecords).toBe(reference.numRecords);
}

async function both(ranges: OffsetRange[], workers = 2): Promise<{ pooled: SourceBatch; reference: SourceBatch }> {
  const [main, threads] = [await open(0), await open(workers)];
  try {
    return { reference: await main.read(ranges), pooled: await threads.read(ranges) };
  } finally {
    await main.close();
    await threads.close();
  }
}

describe('log source decode on worker threads', () => {
  it('gives the main-thread table and dead letters over several partitions, segments, nulls and bad records', async () => {
    const ranges = [range(0, 0, 2500), range(1, 0, 1800), range(2, 0, 2200), range(3, 0, 40)];
    const { pooled, reference } = await both(ranges);
    expectSame(pooled, reference);
    expect(reference.table.numRows).toBeGreaterThan(4000);
    expect(new Set(reference.deadLetters.map((d) => d.partition))).toEqual(new Set([0, 1, 2, 3]));
    expect(reference.deadLetters.length).toBeGreaterThan(500);
    // one record batch per partition with rows: the worker path really ran (the main thread makes one)
    expect(reference.table.batches.length).toBe(1);
    expect(pooled.table.batches.length).toBe(3);
    expect(pooled.timings!.readMs).toBeGreaterThanOrEqual(0);
    expect(pooled.timings!.decodeMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps range order (not partition order), skips empty ranges, and starts mid-segment', async () => {
    const ranges = [range(2, 1111, 2200), range(1, 0, 0), range(0, 17, 1999), range(3, 40, 40), range(1, 1799, 1800)];
    const { pooled, reference } = await both(ranges, 1);
    expectSame(pooled, reference);
    expect(reference.table.getChild('_partition')!.get(0)).toBe(2);
  });

  it('more partitions than threads, and a batch of dead letters only', async () => {
    const a = await both([range(0, 0, 600), range(1, 0, 600), range(2, 0, 600)], 2);
    expectSame(a.pooled, a.reference);
    const b = await both([range(3, 0, 15), range(3, 15, 40)], 2);
    expectSame(b.pooled, b.reference);
    expect(b.reference.table.numRows).toBe(0);
    expect(b.pooled.deadLetters.length).toBe(40);
  });

  it('text and raw formats too', async () => {
    for (const [format, schema] of [['text', parseSchemaText('value VARCHAR')], ['raw', parseSchemaText('value BLOB')]] as const) {
      const ranges = [range(0, 0, 800), range(3, 0, 40)];
      const main = await open(0, { format, schema: schema as ValueSchema });
      const threads = await open(2, { format, schema: schema as ValueSchema });
      expectSame(await threads.read(ranges), await main.read(ranges));
      await main.close();
      await threads.close();
    }
  });

  it('small batches and single ranges stay on the main thread; the pool is off by default and with decodeWorkers 0 or DUCKSTREAM_DECODE_WORKERS=0', async () => {
    const ranges = [range(0, 0, 500), range(1, 0, 500)];
    const single = await open(2);
    expect((await single.read([range(0, 0, 2500)])).table.batches.length).toBe(1);
    await single.close();
    const small = await open(2, { decodeWorkersMinRecords: 1001 });
    expect((await small.read(ranges)).table.batches.length).toBe(1);
    expect((await small.read([...ranges, range(2, 0, 1)])).table.batches.length).toBeGreaterThan(1);
    await small.close();
    const saved = process.env['DUCKSTREAM_DECODE_WORKERS'];
    try {
      delete process.env['DUCKSTREAM_DECODE_WORKERS'];
      const byDefault = await LogSource.open('events', logDir, { format: 'json', schema: SCHEMA, maxValueBytes: MAX_VALUE_BYTES, startingPosition: 'earliest', timestampColumns: [], decodeWorkersMinRecords: 0 });
      expect((await byDefault.read(ranges)).table.batches.length, 'off unless asked for').toBe(1);
      await byDefault.close();
      process.env['DUCKSTREAM_DECODE_WORKERS'] = '0';
      const off = await LogSource.open('events', logDir, { format: 'json', schema: SCHEMA, maxValueBytes: MAX_VALUE_BYTES, startingPosition: 'earliest', timestampColumns: [], decodeWorkersMinRecords: 0 });
      expect((await off.read(ranges)).table.batches.length).toBe(1);
      await off.close();
      process.env['DUCKSTREAM_DECODE_WORKERS'] = 'many';
      const bad = await LogSource.open('events', logDir, { format: 'json', schema: SCHEMA, maxValueBytes: MAX_VALUE_BYTES, startingPosition: 'earliest', timestampColumns: [], decodeWorkersMinRecords: 0 });
      await expect(bad.read(ranges)).rejects.toThrow(/DUCKSTREAM_DECODE_WORKERS is 'many'[\s\S]*fix: set it to a whole number/);
      await bad.close();
    } finally {
      if (saved === undefined) delete process.env['DUCKSTREAM_DECODE_WORKERS'];
      else process.env['DUCKSTREAM_DECODE_WORKERS'] = saved;
    }
  });

  it('the DuckDB JSON decode (opt-in) does not go through the workers', async () => {
    // (JSON columns have no DuckDB fast path)
    const duck = await open(2, { jsonDecode: 'duckdb', schema: parseSchemaText('i INTEGER, s VARCHAR, r VARCHAR NOT NULL') });
    const read = await duck.read([range(0, 0, 2500)]);
    expect(read.duckdb).toBeDefined();
    await duck.close();
  });
});

describe('errors from worker threads', () => {
  let damaged: string;

  beforeAll(async () => {
    // a copy of the log with one byte flipped in a value of partition 1's second segment
    damaged = join(dir, 'damaged');
    const log = await createLog(damaged, { partitions: 3, segmentBytes: 32 * 1024 });
    const random = prng(5);
    for (let p = 0; p < 3; p++) {
      const records = Array.from({ length: 1500 }, (_, k) => record(random, k));
      for (let at = 0; at < records.length; at += 200) await log.append(p, records.slice(at, at + 200));
    }
    await log.close();
    const segments = readdirSync(join(damaged, '1')).filter((f) => f.endsWith('.log')).sort();
    expect(segments.length).toBeGreaterThan(1);
    const file = join(damaged, '1', segments[1]!);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(file, bytes);
  });

  async function failure(source: LogSource, ranges: OffsetRange[]): Promise<Error> {
    try {
      await source.read(ranges);
    } catch (err) {
      return err as Error;
    } finally {
      await source.close();
    }
    throw new Error('the read did not fail');
  }

  async function expectSameError(ranges: OffsetRange[], options: Partial<LogSourceOptions> = {}, path = damaged): Promise<Error> {
    const reference = await failure(await open(0, options, path), ranges);
    const pooled = await failure(await open(2, options, path), ranges);
    expect(pooled.constructor).toBe(reference.constructor);
    expect(pooled.message).toBe(reference.message);
    expect(pooled.name).toBe(reference.name);
    if (reference instanceof DuckstreamError) {
      expect(pooled).toBeInstanceOf(DuckstreamError);
      const p = pooled as DuckstreamError;
      expect([p.domain, p.retriable, p.fix]).toEqual([reference.domain, reference.retriable, reference.fix]);
    }
    if (reference instanceof CorruptFileError) expect((pooled as CorruptFileError).file).toBe(reference.file);
    return reference;
  }

  it('a damaged record: same CorruptFileError naming the file, byte and offset', async () => {
    const err = await expectSameError([range(0, 0, 1500), range(1, 0, 1500), range(2, 0, 1500)]);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toMatch(/damaged\/1\/\d+\.log: .* at byte \d+ \(offset \d+\)/);
  });

  it('reading past the end of a partition: same user error', async () => {
    const err = await expectSameError([range(0, 0, 1500), range(2, 0, 1600)]);
    expect(err.message).toMatch(/cannot read partition 2 of log .* until offset 1600: the partition ends at 1500/);
  });

  it('a read error wins over a decode error, as on the main thread (which reads everything first)', async () => {
    // a BLOB column in a JSON source fails every partition's decode; partition 1 fails its read before that
    const blob = { schema: parseSchemaText('value BLOB') };
    const err = await expectSameError([range(0, 0, 1500), range(1, 0, 1500)], blob);
    expect(err).toBeInstanceOf(CorruptFileError);
    const decodeOnly = await expectSameError([range(0, 0, 1500), range(2, 0, 1500)], blob);
    expect(decodeOnly.message).toMatch(/BLOB columns are for format = 'raw'/);
  });
});

describe('decode workers from the compiled dist/', () => {
  it('read the same rows as the main thread, and idle threads do not keep the process alive', () => {
    // no close(): the process must still exit on its own once the read is done
    const script = `
      import { LogSource } from './dist/src/source/log-source.js';
      import { parseSchemaText } from './dist/src/source/schema.js';
      const schema = parseSchemaText(${JSON.stringify(SCHEMA.map((c) => `${c.name} ${c.type}${c.required ? ' NOT NULL' : ''}`).join(', '))});
      const ranges = [0, 1, 2].map((partition) => ({ topic: 'events', partition, from: 0n, until: 1800n }));
      const open = (decodeWorkers) => LogSource.open('events', ${JSON.stringify(logDir)}, { format: 'json', schema, maxValueBytes: ${MAX_VALUE_BYTES}, startingPosition: 'earliest', timestampColumns: [], decodeWorkers, decodeWorkersMinRecords: 0 });
      const a = await (await open(0)).read(ranges);
      const b = await (await open(2)).read(ranges);
      const text = (t) => JSON.stringify(t.toArray(), (_, v) => (typeof v === 'bigint' ? String(v) : v));
      const dl = (d) => JSON.stringify(d.map((x) => [x.partition, String(x.offset), x.reason]));
      console.log(JSON.stringify({ batches: [a.table.batches.length, b.table.batches.length], rows: a.table.numRows, same: text(a.table) === text(b.table), dead: a.deadLetters.length, sameDead: dl(a.deadLetters) === dl(b.deadLetters) }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { batches: number[]; rows: number; same: boolean; dead: number; sameDead: boolean };
    expect(out.batches).toEqual([1, 3]);
    expect(out.rows).toBeGreaterThan(3000);
    expect(out.same).toBe(true);
    expect(out.dead).toBeGreaterThan(300);
    expect(out.sameDead).toBe(true);
  });
});
