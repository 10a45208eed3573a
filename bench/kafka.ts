/**
 * Kafka benchmark, in one run against librdkafka's mock broker (test/kafka/harness): N page views (JSON) in P
 * partitions; (1) raw kafkajs consumption of the whole topic (eachBatch, counting records, no processing);
 * (2) a duckstream job reading the same topic into a Parquet sink with --trigger available-now. Both pay one
 * consumer-group join (~3 s, fixed by the mock); rates are given with and without it. The ratio is the figure.
 *
 *   npm run build && node dist/bench/kafka.js [records=400000] [partitions=16] [max-records-per-partition=25000]
 * (needs librdkafka-dev and gcc for the harness; the mock caps a partition log at 5 MiB: keep records×~150 B/P below.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { rawKafkajs, startBroker } from './kafka-mock.js';
import { generatePageViews } from '../src/demo/pageviews.js';
import type { BatchProgress } from '../src/driver/progress.js';
import { runJob } from '../src/driver/run-job.js';
import { Engine, literal } from '../src/sql/engine.js';

const records = Number(process.argv[2] ?? 400_000);
const partitions = Number(process.argv[3] ?? 16);
const cap = Number(process.argv[4] ?? 25_000);
const dir = mkdtempSync(join(tmpdir(), 'ds-bench-kafka-'));
const topic = 'pageviews';

async function main(): Promise<void> {
  const broker = await startBroker();
  await broker.command(`topic ${topic} ${partitions} 1`);
  const kafka = new Kafka({ clientId: 'bench', brokers: broker.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const views = generatePageViews(records, 99);
  let bytes = 0;
  for (let p = 0; p < partitions; p++) {
    const mine = views.filter((_, i) => i % partitions === p).map((v) => JSON.stringify(v));
    for (let i = 0; i < mine.length; i += 2000) {
      const chunk = mine.slice(i, i + 2000);
      bytes += chunk.reduce((a, s) => a + s.length, 0);
      await producer.send({ topic, acks: 1, messages: chunk.map((value) => ({ partition: p, value })) });
    }
  }
  await producer.disconnect();

  const raw = await rawKafkajs(kafka, topic, records);

  const jobFile = join(dir, 'job.sql');
  writeFileSync(
    jobFile,
    `CREATE SOURCE ev WITH (connector = 'kafka', brokers = '${broker.bootstrap}', topic = '${topic}', max_records_per_partition = '${cap}');
     CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT ts, user_id, url, status, latency_ms FROM ev WHERE status <> 301;`,
  );
  const progress: BatchProgress[] = [];
  const t0 = performance.now();
  await runJob({ jobFile, checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' }, onBatch: (p) => progress.push(p) });
  const jobMs = performance.now() - t0;
  const engine = await Engine.open();
  const [row] = await engine.all(`SELECT count(*)::BIGINT AS n FROM read_parquet(${literal(join(dir, 'out', '*.parquet'))})`);
  engine.close();
  const input = progress.reduce((a, p) => a + p.numInputRows, 0);
  if (input !== records) throw new Error(`duckstream read ${input} records, expected ${records}`);
  const phases: Record<string, number> = {};
  for (const p of progress) for (const [k, v] of Object.entries(p.durationMs)) phases[k] = (phases[k] ?? 0) + v;
  // duckstream's reader pays the same group join as the raw consumer; its time without it is estimated with the raw join.
  const jobAfterJoin = jobMs - raw.joinMs;
  const rate = (ms: number) => Math.round(records / (ms / 1000));
  const out = {
    records,
    partitions,
    megabytes: Math.round(bytes / 1e5) / 10,
    cpus: cpus().length,
    raw: { totalMs: Math.round(raw.totalMs), joinMs: Math.round(raw.joinMs), recordsPerSec: rate(raw.totalMs), recordsPerSecAfterJoin: rate(raw.afterJoinMs) },
    duckstream: {
      totalMs: Math.round(jobMs),
      batches: progress.length,
      parquetRows: Number(row?.['n']),
      recordsPerSec: rate(jobMs),
      recordsPerSecAfterJoin: rate(jobAfterJoin),
      phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])),
    },
    ratio: Math.round((raw.totalMs / jobMs) * 100) / 100,
    ratioAfterJoin: Math.round((raw.afterJoinMs / jobAfterJoin) * 100) / 100,
  };
  console.log(JSON.stringify(out, null, 2));
  broker.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
