/**
 * RabbitMQ stream source benchmark, in one run against the local broker (127.0.0.1:5672): N page views (JSON) over
 * P stream queues; (1) raw amqplib consumption of every queue from 'first' (prefetch 2000, acks every 500, counting
 * messages, no processing), the baseline; (2) the duckstream source alone: latestOffsets, then read() of capped
 * ranges until the end, decoded into Arrow (what a job's read + toArrow phases do); (3) a whole job into Parquet
 * with --trigger available-now. Ratios are raw time / duckstream time (1 = as fast as the raw client).
 *
 *   npm run build && node dist/bench/amqp-stream.js [records=100000] [queues=2] [max-records-per-partition=25000]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import { createSource } from '../src/connectors/registry.js';
import { generatePageViews } from '../src/demo/pageviews.js';
import type { BatchProgress } from '../src/driver/progress.js';
import { runJob } from '../src/driver/run-job.js';
import { parsePartitionKey, type OffsetRange } from '../src/plan/offset-range.js';

const records = Number(process.argv[2] ?? 100_000);
const queueCount = Number(process.argv[3] ?? 2);
const cap = Number(process.argv[4] ?? 25_000);
const url = 'amqp://guest:guest@127.0.0.1:5672';
const dir = mkdtempSync(join(tmpdir(), 'ds-bench-amqp-'));
const suffix = randomBytes(4).toString('hex');
const queues = Array.from({ length: queueCount }, (_, i) => `ds-bench-${suffix}-${i}`);

async function rawConsume(conn: amqp.ChannelModel): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    queues.map(async (q) => {
      const ch = await conn.createChannel();
      await ch.prefetch(2000);
      const want = records / queueCount;
      let n = 0;
      await new Promise<void>((resolve) => {
        void ch.consume(
          q,
          (m) => {
            if (!m) return;
            if (++n % 500 === 0 || n === want) ch.ack(m, true);
            if (n === want) resolve();
          },
          { noAck: false, arguments: { 'x-stream-offset': 'first' } },
        );
      });
      await ch.close();
    }),
  );
  return performance.now() - t0;
}

let sourcePhases: Record<string, number> = {};

async function sourceOnly(): Promise<number> {
  const t0 = performance.now();
  const source = await createSource({
    name: 'ev',
    options: { connector: 'amqp', url, queue: queues.join(','), schema: 'ts TIMESTAMP, user_id INTEGER, url VARCHAR, status INTEGER, latency_ms DOUBLE' },
    columns: undefined,
    line: 1,
  });
  const latest = await source.latestOffsets();
  let rows = 0;
  let readMs = 0;
  let decodeMs = 0;
  const latestAt = performance.now();
  for (let from = 0n; ; from += BigInt(cap)) {
    const ranges: OffsetRange[] = [...latest]
      .filter(([, end]) => end > from)
      .map(([k, end]) => ({ ...parsePartitionKey(k), from, until: end < from + BigInt(cap) ? end : from + BigInt(cap) }));
    if (ranges.length === 0) break;
    const batch = await source.read(ranges);
    rows += batch.table.numRows + batch.deadLetters.length;
    readMs += batch.timings?.readMs ?? 0;
    decodeMs += batch.timings?.decodeMs ?? 0;
    if (batch.deadLetters.length > 0) throw new Error(`dead letters: ${batch.deadLetters[0]!.reason}`);
  }
  await source.close();
  sourcePhases = { probeMs: Math.round(latestAt - t0), readMs: Math.round(readMs), decodeMs: Math.round(decodeMs) };
  if (rows !== records) throw new Error(`source read ${rows} rows, expected ${records}`);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const views = generatePageViews(records, 99).map((v) => Buffer.from(JSON.stringify(v)));
  for (const [i, q] of queues.entries()) {
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    for (let k = i; k < views.length; k += queueCount) if (!ch.sendToQueue(q, views[k]!)) await new Promise((r) => ch.once('drain', r));
    await ch.waitForConfirms();
  }
  try {
    const rawMs = await rawConsume(conn);
    const sourceMs = await sourceOnly();
    const rawMs2 = await rawConsume(conn); // again, so that neither side alone profits from a warm broker cache
    const raw = Math.min(rawMs, rawMs2);
    const jobFile = join(dir, 'job.sql');
    writeFileSync(
      jobFile,
      `CREATE SOURCE ev WITH (connector = 'amqp', url = '${url}', queue = '${queues.join(',')}', max_records_per_partition = '${cap}');
       CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT ts, user_id, url, status, latency_ms FROM ev WHERE status <> 301;`,
    );
    const progress: BatchProgress[] = [];
    const t0 = performance.now();
    await runJob({ jobFile, checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' }, onBatch: (p) => progress.push(p) });
    const jobMs = performance.now() - t0;
    const input = progress.reduce((a, p) => a + p.numInputRows, 0);
    if (input !== records) throw new Error(`the job read ${input} records, expected ${records}`);
    const rate = (ms: number) => Math.round(records / (ms / 1000));
    console.log(
      JSON.stringify(
        {
          records,
          queues: queueCount,
          cpus: cpus().length,
          raw: { ms: [Math.round(rawMs), Math.round(rawMs2)], recordsPerSec: rate(raw) },
          source: { ms: Math.round(sourceMs), recordsPerSec: rate(sourceMs), ratio: Math.round((raw / sourceMs) * 100) / 100, phases: sourcePhases },
          job: { ms: Math.round(jobMs), batches: progress.length, recordsPerSec: rate(jobMs), ratio: Math.round((raw / jobMs) * 100) / 100 },
        },
        null,
        2,
      ),
    );
  } finally {
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
