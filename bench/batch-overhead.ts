/**
 * Fixed per-batch overhead: a stateless filter/projection job from the embedded log into a Parquet sink, with
 * tiny batches (default 10 records each, 1 partition) run back to back with --trigger available-now.
 *
 * Reports, per mode (fsync on = the default, power-cut durable; fsync off = process-crash durable), the p50/p99
 * wall time per batch (between consecutive onBatch callbacks: everything the driver does for a batch, protocol
 * files and progress included) and p50/p99 of each progress phase. Next to them, baselines measured in the same
 * run on the same disk: one bare fsync, one atomic file write (temp, fsync, rename, fsync dir), one trivial DuckDB
 * statement and one tiny COPY to Parquet — the floor a batch is made of.
 *
 *   npm run build && node dist/bench/batch-overhead.js [batches=300] [records-per-batch=10] [modes=fsync,nofsync]
 *   TMPDIR=/var/tmp node dist/bench/batch-overhead.js …   (run somewhere else than /tmp)
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLog } from '../src/log/index.js';
import { generatePageViews } from '../src/demo/pageviews.js';
import { runJob } from '../src/driver/run-job.js';
import type { BatchProgress } from '../src/driver/progress.js';
import { Engine } from '../src/sql/engine.js';
import { writeFileAtomic } from '../src/util/atomic-file.js';

const batches = Number(process.argv[2] ?? 300);
const perBatch = Number(process.argv[3] ?? 10);
const modes = (process.argv[4] ?? 'fsync,nofsync').split(',');
const dir = mkdtempSync(join(tmpdir(), 'ds-bench-overhead-'));

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const round = (v: number): number => Math.round(v * 100) / 100;
const stats = (values: readonly number[]) => ({ p50: round(quantile(values, 0.5)), p99: round(quantile(values, 0.99)) });

async function timeEach(n: number, fn: (i: number) => void | Promise<void>): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return stats(times);
}

/** The floor: what one fsync, one atomic write, one DuckDB statement and one tiny COPY cost here, now. */
async function baselines(n: number): Promise<Record<string, { p50: number; p99: number }>> {
  const base = join(dir, 'baseline');
  const file = join(base, 'f');
  writeFileAtomic(file, 'x');
  const fsync = await timeEach(n, (i) => {
    const fd = openSync(file, 'r+');
    writeSync(fd, `line ${i}\n`);
    fsyncSync(fd);
    closeSync(fd);
  });
  const atomicWrite = await timeEach(n, (i) => writeFileAtomic(join(base, String(i)), `v1\n{"batchId":${i}}\ncrc32c:00000000\n`));
  const engine = await Engine.open();
  try {
    await engine.run('CREATE TEMP TABLE t AS SELECT range AS x FROM range(10)');
    const statement = await timeEach(n, () => engine.run('CREATE OR REPLACE TEMP TABLE u AS SELECT x FROM t WHERE x > 2'));
    const copy = await timeEach(n, (i) => engine.run(`COPY (SELECT * FROM u) TO '${join(base, `p${i}.parquet`)}' (FORMAT PARQUET)`));
    return { fsync, atomicWrite, duckdbStatement: statement, duckdbCopyParquet: copy };
  } finally {
    engine.close();
  }
}

async function runMode(mode: string): Promise<object> {
  const root = join(dir, mode);
  const log = await createLog(join(root, 'log'), { partitions: 1 });
  const lines = generatePageViews(batches * perBatch, 7).map((v) => ({ value: JSON.stringify(v) }));
  for (let i = 0; i < lines.length; i += 10_000) await log.append(0, lines.slice(i, i + 10_000));
  await log.close();
  writeFileSync(
    join(root, 'job.sql'),
    `CREATE SOURCE pageviews WITH (connector = 'log', path = '${root}/log', format = 'json', event_time = 'ts');
     CREATE SINK out WITH (connector = 'parquet', path = '${root}/out') AS SELECT ts, user_id, url, status, latency_ms FROM pageviews WHERE status <> 301;`,
  );
  const walls: number[] = [];
  const progress: BatchProgress[] = [];
  let last = performance.now();
  await runJob({
    jobFile: join(root, 'job.sql'),
    checkpoint: join(root, 'ck'),
    trigger: { kind: 'available-now' },
    caps: { maxRecordsPerPartition: perBatch },
    fsync: mode !== 'nofsync',
    onBatch: (p) => {
      const now = performance.now();
      walls.push(now - last);
      last = now;
      progress.push(p);
    },
  });
  if (progress.length !== batches) throw new Error(`ran ${progress.length} batches, expected ${batches}`);
  // the first batch infers the schema and opens files: report the steady state
  const steady = progress.slice(1);
  const phases: Record<string, { p50: number; p99: number }> = {};
  for (const k of Object.keys(progress[0]!.durationMs)) phases[k] = stats(steady.map((p) => (p.durationMs as unknown as Record<string, number>)[k] ?? 0));
  return { perBatchMs: { ...stats(walls.slice(1)), max: round(Math.max(...walls.slice(1))), first: round(walls[0]!) }, phasesMs: phases };
}

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  const result: Record<string, unknown> = {
    benchmark: 'batch-overhead',
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}`,
    loadAverage1m: round(load),
    // where the checkpoint, log and outputs live (os.tmpdir(), i.e. TMPDIR): file creation costs differ between
    // directories even on one filesystem (0.5 ms in /tmp against 0.03–0.14 ms in /var/tmp on the test machine)
    dir,
    batches,
    recordsPerBatch: perBatch,
    baselineMsBefore: await baselines(100),
  };
  for (const mode of modes) result[mode] = await runMode(mode);
  // Again after: the disk and the machine's load drift during a run.
  result['baselineMsAfter'] = await baselines(100);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
