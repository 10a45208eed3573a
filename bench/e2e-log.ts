/**
 * End-to-end benchmark on the embedded log: N page views (JSON) in 4 partitions, a filter/projection job into a
 * Parquet sink, run with --trigger available-now; next to the same query run once by DuckDB's read_ndjson over
 * the same data, in the same run. The ratio is the figure.
 *
 *   npm run build && node dist/bench/e2e-log.js [records=1000000] [max-records-per-partition=250000]
 *
 * Also reports the load average at the start (the machine is shared: compare runs of one session only).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLog } from '../src/log/index.js';
import { generatePageViews } from '../src/demo/pageviews.js';
import { runJob } from '../src/driver/run-job.js';
import type { BatchProgress } from '../src/driver/progress.js';
import { Engine, literal } from '../src/sql/engine.js';

const records = Number(process.argv[2] ?? 1_000_000);
const cap = Number(process.argv[3] ?? 250_000);
const partitions = 4;
const dir = mkdtempSync(join(tmpdir(), 'ds-bench-e2e-'));

const QUERY = (from: string) => `SELECT ts, user_id, url, status, latency_ms FROM ${from} WHERE status <> 301`;

/**
 * The same page views as NDJSON (for the baseline) and in the log; returns the input size. The generated
 * objects go out of scope before anything is timed: a real `duckstream run` does not hold 1M JS objects, and
 * every full GC during the job would mark them.
 */
async function writeInput(ndjson: string): Promise<number> {
  const lines = generatePageViews(records, 99).map((v) => JSON.stringify(v));
  writeFileSync(ndjson, lines.join('\n') + '\n');
  const log = await createLog(join(dir, 'log'), { partitions });
  for (let p = 0; p < partitions; p++) {
    const mine = lines.filter((_, i) => i % partitions === p).map((value) => ({ value }));
    for (let i = 0; i < mine.length; i += 20_000) await log.append(p, mine.slice(i, i + 20_000));
  }
  await log.close();
  return lines.reduce((a, l) => a + l.length + 1, 0);
}

async function main(): Promise<void> {
  const ndjson = join(dir, 'input.ndjson');
  const bytes = await writeInput(ndjson);
  global.gc?.();

  // Baseline: DuckDB reads all the NDJSON at once and writes the same Parquet.
  const engine = await Engine.open();
  const columns = `{ts: 'TIMESTAMP', user_id: 'BIGINT', session_id: 'VARCHAR', url: 'VARCHAR', status: 'BIGINT', latency_ms: 'DOUBLE', country: 'VARCHAR', referrer: 'VARCHAR', bytes: 'BIGINT'}`;
  const t0 = performance.now();
  await engine.run(
    `COPY (${QUERY(`read_ndjson(${literal(ndjson)}, columns = ${columns})`)}) TO ${literal(join(dir, 'baseline.parquet'))} (FORMAT PARQUET, COMPRESSION zstd)`,
  );
  const baselineMs = performance.now() - t0;
  engine.close();

  writeFileSync(
    join(dir, 'job.sql'),
    `CREATE SOURCE pageviews WITH (connector = 'log', path = '${dir}/log', format = 'json', event_time = 'ts');
     CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS ${QUERY('pageviews')};`,
  );
  const progress: BatchProgress[] = [];
  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  await runJob({
    jobFile: join(dir, 'job.sql'),
    checkpoint: join(dir, 'ck'),
    trigger: { kind: 'available-now' },
    caps: { maxRecordsPerPartition: cap },
    onBatch: (p) => progress.push(p),
  });
  const wallMs = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  const rows = progress.reduce((a, p) => a + p.numInputRows, 0);
  if (rows !== records) throw new Error(`read ${rows} rows, expected ${records}`);

  const phases: Record<string, number> = {};
  for (const p of progress) for (const [k, v] of Object.entries(p.durationMs)) phases[k] = (phases[k] ?? 0) + v;
  const result = {
    benchmark: 'e2e-log',
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}`,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    records,
    inputBytes: bytes,
    batches: progress.length,
    maxRecordsPerPartition: cap,
    duckstream: { wallMs: Math.round(wallMs), recordsPerSecond: Math.round((records * 1000) / wallMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000) },
    baseline: {
      what: 'DuckDB read_ndjson + same query + COPY TO parquet, one query',
      wallMs: Math.round(baselineMs),
      recordsPerSecond: Math.round((records * 1000) / baselineMs),
    },
    ratio: Math.round((baselineMs / wallMs) * 1000) / 1000,
    phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
