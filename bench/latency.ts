/**
 * End-to-end latency of a stateless job (append → sink commit) with an interval trigger, and where it goes.
 *
 * A child process appends small JSON records to an embedded log at a fixed rate in wall-clock time (a chunk every
 * 10 ms, each record carrying its append time `t`); the driver runs a filter/projection job into a Parquet sink
 * with `--trigger <ms>`. Latency per record = wall time when its batch's commit was done (the onBatch callback)
 * − its append time. Reports p50/p99/max latency, and p50/p99 per batch of rows, duration per phase and
 * scheduling delay, so a regression can be traced to a phase.
 *
 *   npm run build && node dist/bench/latency.js [rate=10000] [seconds=10] [trigger-ms=100] [partitions=1] [fsync|nofsync]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLog, openLog } from '../src/log/index.js';
import { runJob } from '../src/driver/run-job.js';
import type { BatchProgress } from '../src/driver/progress.js';
import { Engine, literal } from '../src/sql/engine.js';

const round = (v: number): number => Math.round(v * 100) / 100;
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
const stats = (values: readonly number[]) => ({ p50: round(quantile(values, 0.5)), p99: round(quantile(values, 0.99)) });

/** Child: append `rate` records/s for `seconds` s, in 10 ms chunks, each record stamped with its append time. */
async function generate(logDir: string, rate: number, seconds: number, partitions: number): Promise<void> {
  const log = await openLog(logDir);
  const start = Date.now();
  let sent = 0;
  const total = rate * seconds;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000));
    if (due > sent) {
      const t = Date.now();
      const per = new Map<number, { value: string }[]>();
      for (let i = sent; i < due; i++) {
        const p = i % partitions;
        if (!per.has(p)) per.set(p, []);
        per.get(p)!.push({ value: `{"id":${i},"t":${t},"status":${i % 10 === 0 ? 500 : 200},"url":"/p/${i % 97}"}` });
      }
      for (const [p, records] of per) await log.append(p, records);
      sent = due;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await log.close();
}

async function main(): Promise<void> {
  const [rate, seconds, triggerMs, partitions] = [10_000, 10, 100, 1].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number, number];
  const fsync = process.argv[6] !== 'nofsync';
  const dir = mkdtempSync(join(tmpdir(), 'ds-bench-latency-'));
  try {
    await (await createLog(join(dir, 'log'), { partitions })).close();
    writeFileSync(
      join(dir, 'job.sql'),
      `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = 'id BIGINT, t BIGINT, status INTEGER, url VARCHAR');
       CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT id, t, url FROM ev WHERE status <> 301;`,
    );
    const load = loadavg()[0]!;
    const child = fork(fileURLToPath(import.meta.url), ['gen', join(dir, 'log'), String(rate), String(seconds), String(partitions)]);
    const childDone = new Promise<number>((r) => child.on('exit', (code) => r(code ?? 1)));
    const controller = new AbortController();
    void childDone.then(() => setTimeout(() => controller.abort(), 3 * triggerMs + 500));
    const batches: { progress: BatchProgress; committedAt: number }[] = [];
    await runJob({
      jobFile: join(dir, 'job.sql'),
      checkpoint: join(dir, 'ck'),
      trigger: { kind: 'interval', ms: triggerMs },
      fsync,
      signal: controller.signal,
      onBatch: (progress) => batches.push({ progress, committedAt: Date.now() }),
    });
    if ((await childDone) !== 0) throw new Error('generator failed');
    const engine = await Engine.open();
    let latencyMs: Record<string, number>;
    try {
      const ends = batches.map((b) => `(${b.progress.batchId}, ${b.committedAt})`).join(', ');
      const [row] = await engine.all(
        `WITH b(batch_id, end_ms) AS (VALUES ${ends}),
              o AS (SELECT t, CAST(regexp_extract(filename, 'part-0*([0-9]+)', 1) AS BIGINT) AS batch_id FROM read_parquet(${literal(join(dir, 'out/*.parquet'))}, filename = true)),
              l AS (SELECT (end_ms - t)::BIGINT AS ms FROM o JOIN b USING (batch_id))
         SELECT count(*)::BIGINT AS n, quantile_disc(ms, 0.5) AS p50, quantile_disc(ms, 0.9) AS p90, quantile_disc(ms, 0.99) AS p99, max(ms) AS max FROM l`,
      );
      latencyMs = { p50: Number(row!['p50']), p90: Number(row!['p90']), p99: Number(row!['p99']), max: Number(row!['max']) };
      if (Number(row!['n']) !== rate * seconds) throw new Error(`sink has ${Number(row!['n'])} rows, expected ${rate * seconds}`);
    } finally {
      engine.close();
    }
    const withRows = batches.filter((b) => b.progress.numInputRows > 0).map((b) => b.progress);
    const phases: Record<string, { p50: number; p99: number }> = {};
    for (const k of Object.keys(withRows[0]!.durationMs)) phases[k] = stats(withRows.map((p) => (p.durationMs as unknown as Record<string, number>)[k] ?? 0));
    const result = {
      benchmark: 'latency',
      date: new Date().toISOString(),
      machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}`,
      loadAverage1m: round(load),
      rate,
      seconds,
      triggerMs,
      partitions,
      fsync,
      records: rate * seconds,
      latencyMs,
      batches: batches.length,
      rowsPerBatch: stats(withRows.map((p) => p.numInputRows)),
      schedulingDelayMs: stats(withRows.map((p) => p.schedulingDelayMs)),
      phasesMs: phases,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'gen') await generate(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]));
else await main();
