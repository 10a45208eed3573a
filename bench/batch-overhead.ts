/**
 * Fixed per-batch overhead: a stateless filter/projection job from the embedded log into a Parquet sink, with
 * tiny batches (default 10 records each, 1 partition) run back to back with --trigger available-now. Reports
 * the p50/p90 wall time per batch (between consecutive onBatch callbacks: everything the driver does for a
 * batch, protocol files and progress included) and the median of each progress phase.
 *
 *   npm run build && node dist/bench/batch-overhead.js [batches=300] [records-per-batch=10]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLog } from '../src/log/index.js';
import { generatePageViews } from '../src/demo/pageviews.js';
import { runJob } from '../src/driver/run-job.js';
import type { BatchProgress } from '../src/driver/progress.js';

const batches = Number(process.argv[2] ?? 300);
const perBatch = Number(process.argv[3] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'ds-bench-overhead-'));

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const round = (v: number): number => Math.round(v * 100) / 100;

async function main(): Promise<void> {
  const log = await createLog(join(dir, 'log'), { partitions: 1 });
  const lines = generatePageViews(batches * perBatch, 7).map((v) => ({ value: JSON.stringify(v) }));
  for (let i = 0; i < lines.length; i += 10_000) await log.append(0, lines.slice(i, i + 10_000));
  await log.close();
  writeFileSync(
    join(dir, 'job.sql'),
    `CREATE SOURCE pageviews WITH (connector = 'log', path = '${dir}/log', format = 'json', event_time = 'ts');
     CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT ts, user_id, url, status, latency_ms FROM pageviews WHERE status <> 301;`,
  );
  const walls: number[] = [];
  const progress: BatchProgress[] = [];
  let last = performance.now();
  const load = loadavg()[0]!;
  await runJob({
    jobFile: join(dir, 'job.sql'),
    checkpoint: join(dir, 'ck'),
    trigger: { kind: 'available-now' },
    caps: { maxRecordsPerPartition: perBatch },
    onBatch: (p) => {
      const now = performance.now();
      walls.push(now - last);
      last = now;
      progress.push(p);
    },
  });
  if (progress.length !== batches) throw new Error(`ran ${progress.length} batches, expected ${batches}`);
  // the first batch infers the schema and opens files: report the steady state
  const steady = walls.slice(1);
  const phases: Record<string, number> = {};
  for (const k of Object.keys(progress[0]!.durationMs)) phases[k] = round(quantile(progress.slice(1).map((p) => (p.durationMs as unknown as Record<string, number>)[k] ?? 0), 0.5));
  const result = {
    benchmark: 'batch-overhead',
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}`,
    loadAverage1m: round(load),
    batches,
    recordsPerBatch: perBatch,
    perBatchMs: { p50: round(quantile(steady, 0.5)), p90: round(quantile(steady, 0.9)), max: round(Math.max(...steady)), first: round(walls[0]!) },
    phasesMsMedian: phases,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
