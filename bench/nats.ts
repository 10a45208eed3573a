/**
 * NATS JetStream benchmark, in one run against the NATS server on 127.0.0.1:4222 (JetStream): N page views (JSON)
 * published to one stream over P subjects (`<stream>.<p>`), then the same messages read four ways:
 * (1) raw @nats-io/jetstream: one ordered consumer over the stream, `consume()`, touching every message's data and
 * sequence until the last one; (2) the NATS source's raw read (NatsRawSource.readRaw of the planned ranges, one
 * subject partition after the other: what duckstream fetches); (3) the source's read decoded into Arrow
 * (Source.read: raw read + JSON decode + `_subject`/`_headers`) — (1) to (3) repeated, interleaved, medians; (4) a duckstream job reading the stream into a
 * Parquet sink with --trigger available-now. Ratios are raw time / duckstream time (1.0 = as fast as the raw client).
 *
 *   npm run build && node dist/bench/nats.js [records=100000] [partitions=4] [repetitions=3]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createSource } from '../src/connectors/registry.js';
import { generatePageViews } from '../src/demo/pageviews.js';
import type { BatchProgress } from '../src/driver/progress.js';
import { runJob } from '../src/driver/run-job.js';
import { parsePartitionKey, type OffsetRange } from '../src/plan/offset-range.js';
import { Engine, literal } from '../src/sql/engine.js';

const records = Number(process.argv[2] ?? 100_000);
const partitions = Number(process.argv[3] ?? 4);
const reps = Number(process.argv[4] ?? 3);
const servers = 'nats://127.0.0.1:4222';
const stream = `bench_nats_${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'ds-bench-nats-'));
const SCHEMA = 'ts TIMESTAMP, user_id BIGINT, url VARCHAR, status INTEGER, latency_ms DOUBLE';

async function main(): Promise<void> {
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  try {
    const views = generatePageViews(records, 99);
    let bytes = 0;
    const tp = performance.now();
    for (let i = 0; i < views.length; i += 2000) {
      const acks = views.slice(i, i + 2000).map((v, k) => {
        const data = JSON.stringify(v);
        bytes += data.length;
        return js.publish(`${stream}.${(i + k) % partitions}`, data);
      });
      await Promise.all(acks);
    }
    const publishMs = performance.now() - tp;

    // Interleaved repetitions, medians: the machine is shared, one run of each says little.
    // partitions = 1: the whole stream is the one partition (no subject filter)
    const subjects = partitions > 1 ? Array.from({ length: partitions }, (_, p) => `${stream}.${p}`).join(',') : undefined;
    const runs: { raw: number; sourceRaw: number; sourceDecoded: number }[] = [];
    for (let i = 0; i < reps; i++) {
      runs.push({ raw: await rawConsume(js, records), sourceRaw: await sourceRead(subjects, 'raw'), sourceDecoded: await sourceRead(subjects, 'decoded') });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const raw = median(runs.map((r) => r.raw));
    const sourceRaw = median(runs.map((r) => r.sourceRaw));
    const sourceDecoded = median(runs.map((r) => r.sourceDecoded));
    const perRunRatios = runs.map((r) => ({ raw: Math.round((r.raw / r.sourceRaw) * 100) / 100, decoded: Math.round((r.raw / r.sourceDecoded) * 100) / 100 }));

    const jobFile = join(dir, 'job.sql');
    writeFileSync(
      jobFile,
      `CREATE SOURCE ev WITH (connector = 'nats', servers = '${servers}', stream = '${stream}', ${subjects ? `subjects = '${subjects}', ` : ''}schema = '${SCHEMA}');
       CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT ts, user_id, url, status, latency_ms FROM ev WHERE status <> 301;`,
    );
    const progress: BatchProgress[] = [];
    const t0 = performance.now();
    await runJob({ jobFile, checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' }, onBatch: (p) => progress.push(p) });
    const jobMs = performance.now() - t0;
    const engine = await Engine.open();
    const [row] = await engine.all(`SELECT count(*)::BIGINT AS n FROM read_parquet(${literal(join(dir, 'out', '**', '*.parquet'))})`);
    engine.close();
    const input = progress.reduce((a, p) => a + p.numInputRows, 0);
    if (input !== records) throw new Error(`duckstream read ${input} records, expected ${records}`);
    const phases: Record<string, number> = {};
    for (const p of progress) for (const [k, v] of Object.entries(p.durationMs)) phases[k] = (phases[k] ?? 0) + v;
    const rate = (ms: number) => Math.round(records / (ms / 1000));
    const ratio = (ms: number) => Math.round((raw / ms) * 100) / 100;
    console.log(
      JSON.stringify(
        {
          records,
          partitions,
          megabytes: Math.round(bytes / 1e5) / 10,
          cpus: cpus().length,
          server: nc.info?.version,
          publish: { ms: Math.round(publishMs), recordsPerSec: rate(publishMs) },
          repetitions: reps,
          perRunRatios,
          raw: { ms: Math.round(raw), recordsPerSec: rate(raw) },
          sourceRawRead: { ms: Math.round(sourceRaw), recordsPerSec: rate(sourceRaw), ratio: ratio(sourceRaw) },
          sourceDecodedRead: { ms: Math.round(sourceDecoded), recordsPerSec: rate(sourceDecoded), ratio: ratio(sourceDecoded) },
          job: {
            ms: Math.round(jobMs),
            batches: progress.length,
            parquetRows: Number(row?.['n']),
            recordsPerSec: rate(jobMs),
            ratio: ratio(jobMs),
            phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The baseline: the broker's own client, one ordered consumer over the whole stream, every message touched. */
async function rawConsume(js: ReturnType<typeof jetstream>, expected: number): Promise<number> {
  const t0 = performance.now();
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume({ max_messages: 4096 });
  let n = 0;
  let sum = 0;
  for await (const m of messages) {
    sum += m.data.length + (m.seq & 1);
    if (++n === expected) break;
  }
  await messages.close();
  await consumer.delete();
  if (sum === 0) throw new Error('nothing read');
  return performance.now() - t0;
}

/** The NATS source reading every partition's whole range: raw records only, or decoded into Arrow. */
async function sourceRead(subjects: string | undefined, what: 'raw' | 'decoded'): Promise<number> {
  const source = await createSource({
    name: 'ev',
    options: { connector: 'nats', servers, stream, ...(subjects && { subjects }), schema: SCHEMA },
    columns: undefined,
    line: 1,
  });
  try {
    const [earliest, latest] = await Promise.all([source.earliestOffsets(), source.latestOffsets()]);
    const ranges: OffsetRange[] = [...latest].map(([k, until]) => ({ ...parsePartitionKey(k), from: earliest.get(k)!, until }));
    const t0 = performance.now();
    let n = 0;
    if (what === 'raw') {
      const raw = (source as unknown as { raw: { readRaw(r: OffsetRange[]): Promise<{ raws: { count: number }[] }> } }).raw;
      n = (await raw.readRaw(ranges)).raws.reduce((a, r) => a + r.count, 0);
    } else {
      n = (await source.read(ranges)).numRecords;
    }
    const ms = performance.now() - t0;
    if (n !== records) throw new Error(`source read ${n} records, expected ${records}`);
    return ms;
  } finally {
    await source.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
