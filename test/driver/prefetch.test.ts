import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { bindCheck, compileJob } from '../../src/driver/compile-job.js';
import { Driver } from '../../src/driver/driver.js';
import type { BatchProgress } from '../../src/driver/progress.js';
import { parseJob } from '../../src/job/parse-job.js';
import { createLog, openLog, type AppendRecord } from '../../src/log/index.js';
import type { BatchCaps } from '../../src/plan/plan-batch.js';
import { LogSource } from '../../src/source/log-source.js';
import { Engine } from '../../src/sql/engine.js';
import { ManualClock } from '../../src/util/clock.js';

/*
 * The read-ahead of the next batch (Source.prefetch, LogSource on a worker thread) is a cache: with it on, a job
 * must write exactly what it writes with it off (DUCKSTREAM_PREFETCH=0): the same ranges per batch, the same sink
 * files, the same dead letters, the same errors in the same batch. Batches here are ≥ 20k records, the size below
 * which LogSource does not read ahead.
 */

const PARTITIONS = 2;
const PER_PARTITION = 36_000;
/** Three batches of 2 × 12k: batch 0 on the main thread, 1 and 2 read ahead. */
const CAPS: BatchCaps = { maxRecordsPerPartition: 12_000 };

/** Record `k` of partition `p`: every 97th is not JSON, every 89th has a string where a number goes. */
function value(p: number, k: number): string {
  if (k % 97 === 5) return `{"id": ${k}, oops`;
  if (k % 89 === 7) return JSON.stringify({ id: k, p, n: 'many' });
  return JSON.stringify({ id: k, p, n: k % 1000, s: `v${p}-${k}` });
}
const isBad = (k: number) => k % 97 === 5 || k % 89 === 7;

const JOB = (dir: string, logDir: string) => `
  CREATE SOURCE ev WITH (connector = 'log', path = '${logDir}', format = 'json', schema = 'id BIGINT, p INTEGER, n INTEGER, s VARCHAR',
    dead_letter_path = '${dir}/dead');
  CREATE SINK rows WITH (connector = 'jsonl', path = '${dir}/out/rows') AS SELECT _partition AS part, _offset AS off, id, n, s FROM ev;
  CREATE SINK big WITH (connector = 'parquet', path = '${dir}/out/big') AS SELECT id, p, n FROM ev WHERE n >= 900;
`;

let root: string;
let logDir: string;

async function appendRecords(dir: string, p: number, from: number, until: number): Promise<void> {
  const log = await openLog(dir);
  for (let at = from; at < until; at += 4000) {
    const records: AppendRecord[] = [];
    for (let k = at; k < Math.min(until, at + 4000); k++) records.push({ value: value(p, k), timestamp: 1_700_000_000_000 + k });
    await log.append(p, records);
  }
  await log.close();
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ds-prefetch-'));
  logDir = join(root, 'log');
  // small segments: the corruption test can damage one that lies inside one batch's ranges
  await (await createLog(logDir, { partitions: PARTITIONS, segmentBytes: 64 * 1024, indexIntervalBytes: 4096 })).close();
  for (let p = 0; p < PARTITIONS; p++) await appendRecords(logDir, p, 0, PER_PARTITION);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  readonly dir: string;
  readonly progress: BatchProgress[];
  readonly error: Error | undefined;
  readonly counts: { started: number; used: number; discarded: number };
}

/** A job over `log` with DUCKSTREAM_PREFETCH set to `prefetch`: `between(i)` runs before batch i; stops at the first batch with no data. */
async function runJob(prefetch: string | undefined, log: string, o: { caps?: BatchCaps; availableNow?: boolean; between?: (batch: number) => Promise<void> } = {}): Promise<Run> {
  const saved = process.env['DUCKSTREAM_PREFETCH'];
  if (prefetch === undefined) delete process.env['DUCKSTREAM_PREFETCH'];
  else process.env['DUCKSTREAM_PREFETCH'] = prefetch;
  const dir = mkdtempSync(join(root, `run${prefetch ?? ''}-`));
  const def = parseJob(JOB(dir, log), 'prefetch-test.sql');
  const checkpoint = Checkpoint.open(join(dir, 'ck'), { jobName: def.name, fingerprint: { sourcesHash: def.sourcesHash, jobHash: def.jobHash } });
  const engine = await Engine.open();
  const progress: BatchProgress[] = [];
  let error: Error | undefined;
  let driver: Driver | undefined;
  let source: LogSource | undefined;
  try {
    const job = await compileJob(def, engine, { checkpointDir: checkpoint.dir });
    source = job.sources[0] as LogSource;
    driver = await Driver.start(job, checkpoint, engine, { clock: new ManualClock(Date.UTC(2026, 0, 1)), caps: o.caps ?? CAPS, snapshotIntervalMs: 0 });
    await bindCheck(job, engine);
    const upTo = o.availableNow === false ? undefined : await driver.snapshotLatest();
    for (let i = 0; ; i++) {
      await o.between?.(i);
      const p = await driver.runOnce(upTo ? { upTo } : {});
      if (!p) break;
      progress.push(p);
    }
  } catch (err) {
    error = err as Error;
  } finally {
    const counts = source?.prefetchCounts ?? { started: 0, used: 0, discarded: 0 };
    await driver?.close();
    engine.close();
    if (saved === undefined) delete process.env['DUCKSTREAM_PREFETCH'];
    else process.env['DUCKSTREAM_PREFETCH'] = saved;
    // eslint-disable-next-line no-unsafe-finally
    return { dir, progress, error, counts };
  }
}

/** Every file under `sub` (sorted by name) with its contents: what a reader of the outputs sees. */
function files(dir: string, sub: string): Record<string, string> {
  const at = join(dir, sub);
  if (!existsSync(at)) return {};
  return Object.fromEntries(readdirSync(at, { withFileTypes: true }).filter((f) => f.isFile() && !f.name.startsWith('.')).map((f) => f.name).sort().map((f) => [f, readFileSync(join(at, f), 'latin1')]));
}

const offsetsPerBatch = (r: Run) => r.progress.map((p) => [p.batchId, p.sources[0]!.startOffset, p.sources[0]!.endOffset, p.numInputRows, p.numDeadLetterRows]);
const prefetchPerBatch = (r: Run) => r.progress.map((p) => p.sources[0]!.prefetch ?? '-');

/** The same job's outputs: ranges per batch, sink files byte for byte, dead-letter files byte for byte. */
function expectSameOutputs(on: Run, off: Run): void {
  expect(offsetsPerBatch(on)).toEqual(offsetsPerBatch(off));
  expect(files(on.dir, 'out/rows')).toEqual(files(off.dir, 'out/rows'));
  expect(Object.keys(files(on.dir, 'out/big'))).toEqual(Object.keys(files(off.dir, 'out/big')));
  expect(files(on.dir, 'dead')).toEqual(files(off.dir, 'dead'));
}

/** What the rows sink must hold for records [0, until) of each partition, computed from the generator alone. */
function golden(until: number[]): { rows: string[]; dead: string[] } {
  const rows: string[] = [];
  const dead: string[] = [];
  for (let p = 0; p < until.length; p++) {
    for (let k = 0; k < until[p]!; k++) {
      if (isBad(k)) dead.push(`${p}:${k}`);
      else rows.push(JSON.stringify({ part: p, off: k, id: k, n: k % 1000, s: `v${p}-${k}` }));
    }
  }
  return { rows: rows.sort(), dead: dead.sort() };
}

function actual(r: Run): { rows: string[]; dead: string[] } {
  const rows = Object.values(files(r.dir, 'out/rows')).flatMap((t) => t.split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map((o) => JSON.stringify({ part: Number(o['part']), off: Number(o['off']), id: Number(o['id']), n: Number(o['n']), s: o['s'] }));
  const dead = Object.values(files(r.dir, 'dead')).flatMap((t) => t.split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as { partition: number; offset: string; reason: string })
    .map((d) => `${d.partition}:${d.offset}`);
  return { rows: rows.sort(), dead: dead.sort() };
}

describe('prefetch: the next batch read ahead on a worker thread', () => {
  it('a multi-batch run writes the same ranges, sink files and dead letters with it on and off, and the golden rows', async () => {
    const off = await runJob('0', logDir);
    const on = await runJob('1', logDir);
    expect(off.error).toBeUndefined();
    expect(on.error).toBeUndefined();
    expect(offsetsPerBatch(on)).toEqual([
      [0, { 0: '0', 1: '0' }, { 0: '12000', 1: '12000' }, 24000, expect.any(Number)],
      [1, { 0: '12000', 1: '12000' }, { 0: '24000', 1: '24000' }, 24000, expect.any(Number)],
      [2, { 0: '24000', 1: '24000' }, { 0: '36000', 1: '36000' }, 24000, expect.any(Number)],
    ]);
    expectSameOutputs(on, off);
    // batch 0 is read by the main thread; 1 and 2 were read ahead and used; none after the last (no backlog)
    expect(prefetchPerBatch(on)).toEqual(['-', 'used', 'used']);
    expect(on.counts).toEqual({ started: 2, used: 2, discarded: 0 });
    expect(prefetchPerBatch(off)).toEqual(['-', '-', '-']);
    expect(off.counts).toEqual({ started: 0, used: 0, discarded: 0 });
    const want = golden([PER_PARTITION, PER_PARTITION]);
    expect(want.dead.length).toBeGreaterThan(1000);
    const got = actual(on);
    expect(got.dead).toEqual(want.dead);
    expect(got.rows.length).toBe(want.rows.length);
    expect(got.rows).toEqual(want.rows);
    // the same dead-letter reasons, record for record
    const reasons = (r: Run) => Object.values(files(r.dir, 'dead')).join('').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons(on)).toEqual(reasons(off));
    expect(new Set(reasons(on)).size).toBeGreaterThan(1);
  });

  it('is used when the next batch plans the read-ahead ranges, and discarded when data appended in between changes the plan', async () => {
    // A per-batch cap shared in proportion to each partition's backlog: records appended to one partition before a
    // batch change its shares, so the ranges read ahead no longer match. No available-now bound (an interval trigger).
    const dir = mkdtempSync(join(root, 'growing-'));
    // two copies named alike: the directory name is the topic, which dead letters carry
    const log = join(dir, 'on', 'log');
    cpSync(logDir, log, { recursive: true });
    const caps = { maxRecordsPerBatch: 20_000 };
    const appends = async (batch: number, target: string) => {
      if (batch === 2) await appendRecords(target, 1, PER_PARTITION, PER_PARTITION + 6000);
    };
    const logOff = join(dir, 'off', 'log');
    cpSync(logDir, logOff, { recursive: true });
    const on = await runJob('1', log, { caps, availableNow: false, between: (i) => appends(i, log) });
    const off = await runJob('0', logOff, { caps, availableNow: false, between: (i) => appends(i, logOff) });
    expect(on.error).toBeUndefined();
    expect(off.error).toBeUndefined();
    // 72k then 78k records in batches of 20k: 4 batches
    expect(on.progress.map((p) => p.numInputRows)).toEqual([20_000, 20_000, 20_000, 18_000]);
    // batch 2: its read-ahead was planned before the append and is discarded; batch 3 (18k) is too small to read ahead
    expect(prefetchPerBatch(on)).toEqual(['-', 'used', 'discarded', '-']);
    expect(on.counts).toEqual({ started: 2, used: 1, discarded: 1 });
    expectSameOutputs(on, off);
    const got = actual(on);
    const want = golden([PER_PARTITION, PER_PARTITION + 6000]);
    expect(got.dead).toEqual(want.dead);
    expect(got.rows).toEqual(want.rows);
  });

  describe('a damaged record', () => {
    /** A copy of the log with one bit flipped mid-way through a segment of partition 0 that starts in [from, until). */
    function damagedCopy(name: string, from: number, until: number): string {
      const copy = join(root, name);
      cpSync(logDir, copy, { recursive: true });
      const segments = readdirSync(join(copy, '0')).filter((f) => f.endsWith('.log')).sort();
      const starts = segments.map((f) => Number(f.replace(/\.log$/, '')));
      const i = starts.findIndex((s, j) => s >= from && (starts[j + 1] ?? Infinity) <= until);
      expect(i).toBeGreaterThanOrEqual(0);
      const file = join(copy, '0', segments[i]!);
      const bytes = readFileSync(file);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x10;
      writeFileSync(file, bytes);
      return copy;
    }

    for (const [batch, from, until] of [[1, 12_000, 24_000], [2, 24_000, 36_000]] as const) {
      it(`in batch ${batch}'s ranges fails batch ${batch} with the same error as without prefetch, after the same batches`, async () => {
        const copy = damagedCopy(`damaged-${batch}`, from, until);
        const off = await runJob('0', copy);
        const on = await runJob('1', copy);
        expect(off.error?.message).toMatch(/at byte \d+ \(offset \d+\)/);
        expect(on.error?.constructor).toBe(off.error?.constructor);
        expect(on.error?.message).toBe(off.error?.message);
        expect(offsetsPerBatch(on)).toEqual(offsetsPerBatch(off));
        expect(on.progress.map((p) => p.batchId)).toEqual(Array.from({ length: batch }, (_, i) => i));
        // the failed batch's ranges were logged (write-ahead) and not committed, as without prefetch
        for (const r of [on, off]) {
          expect(readdirSync(join(r.dir, 'ck', 'offsets')).filter((f) => /^\d+$/.test(f)).map(Number).sort()).toContain(batch);
          expect(readdirSync(join(r.dir, 'ck', 'commits')).filter((f) => /^\d+$/.test(f)).map(Number)).not.toContain(batch);
        }
        expectSameOutputs(on, off);
        // the read-ahead of the damaged batch failed quietly; the batch's own read reported the error
        expect(on.counts.started).toBe(batch);
        expect(on.counts.discarded).toBe(1);
      });
    }
  });

  it('is off unless DUCKSTREAM_PREFETCH (or prefetchThreads) asks for it; a bad value is a user error', async () => {
    const unset = await runJob(undefined, logDir);
    expect(unset.error).toBeUndefined();
    expect(prefetchPerBatch(unset)).toEqual(['-', '-', '-']);
    expect(unset.counts.started).toBe(0);
    const bad = await runJob('yes', logDir);
    expect(bad.error?.message).toMatch(/DUCKSTREAM_PREFETCH is 'yes'[\s\S]*fix: set it to a whole number of threads \(0 = no read-ahead\)/);
    expect(bad.progress.map((p) => p.batchId)).toEqual([]);
  });

  it('close() while a batch is being read ahead ends promptly, and no thread keeps the process alive', () => {
    // In a child process of the compiled code: it must exit on its own once the source is closed.
    const script = `
      import { LogSource } from './dist/src/source/log-source.js';
      import { parseSchemaText } from './dist/src/source/schema.js';
      const schema = parseSchemaText('id BIGINT, p INTEGER, n INTEGER, s VARCHAR');
      const source = await LogSource.open('ev', ${JSON.stringify(logDir)}, { format: 'json', schema, maxValueBytes: undefined, startingPosition: 'earliest', timestampColumns: [], prefetchThreads: 1 });
      const ranges = [0, 1].map((partition) => ({ topic: 'log', partition, from: 0n, until: ${PER_PARTITION}n }));
      source.prefetch(ranges);
      await new Promise((r) => setTimeout(r, 20)); // the thread is starting (~150 ms), then reads and decodes (~100 ms)
      const t0 = performance.now();
      await source.close();
      const closed = performance.now();
      process.on('exit', () => console.log(JSON.stringify({ closeMs: closed - t0, exitMs: performance.now() - closed, counts: source.prefetchCounts })));
    `;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { closeMs: number; exitMs: number; counts: { started: number } };
    expect(out.counts).toEqual({ started: 1, used: 0, discarded: 0 });
    expect(out.closeMs).toBeLessThan(1000);
    // a thread left reading would hold the process until it is done
    expect(out.exitMs).toBeLessThan(100);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('a driver closed right after a batch that started a read-ahead closes at once; nothing is left running', async () => {
    const saved = process.env['DUCKSTREAM_PREFETCH'];
    process.env['DUCKSTREAM_PREFETCH'] = '1';
    const dir = mkdtempSync(join(root, 'close-'));
    const def = parseJob(JOB(dir, logDir), 'prefetch-test.sql');
    const checkpoint = Checkpoint.open(join(dir, 'ck'), { jobName: def.name, fingerprint: { sourcesHash: def.sourcesHash, jobHash: def.jobHash } });
    const engine = await Engine.open();
    try {
      const job = await compileJob(def, engine, { checkpointDir: checkpoint.dir });
      const source = job.sources[0] as LogSource;
      const driver = await Driver.start(job, checkpoint, engine, { caps: { maxRecordsPerPartition: 11_000 }, snapshotIntervalMs: 0 });
      const p = await driver.runOnce();
      expect(p?.numInputRows).toBe(22_000);
      expect(source.prefetchCounts).toEqual({ started: 1, used: 0, discarded: 0 });
      const t0 = performance.now();
      await driver.close();
      expect(performance.now() - t0).toBeLessThan(2000);
      // the next run starts where the committed batch ended: the read-ahead left no trace
      expect(readdirSync(join(dir, 'ck', 'offsets')).filter((f) => /^\d+$/.test(f))).toEqual(['0']);
    } finally {
      engine.close();
      if (saved === undefined) delete process.env['DUCKSTREAM_PREFETCH'];
      else process.env['DUCKSTREAM_PREFETCH'] = saved;
    }
  });
});
