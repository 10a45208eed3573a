/**
 * Nexmark on the embedded log (issue 6; the q5/q7/q8 part is issue 4's benchmark), with same-run baselines:
 *   npm run build && npm run bench -- nexmark [--queries q0,q5] [--events 1000000] [--cap 50000] [--latency]
 *
 * 1. Generate `--events` events into three logs (4 partitions each) and, from the same seed, into NDJSON files.
 * 2. Baselines over the same data: (a) read and split the raw logs (every record of every partition), (b) (a) plus
 *    the JSON decode of all records into Arrow (duckstream's decoder, with the job schemas), (c) per query, the
 *    same logic run once by DuckDB over all data: read_ndjson + the SQL, written to Parquet.
 * 3. Each query runs in a child process (so peak RSS is its own) with --trigger available-now (--drain for windowed
 *    queries), --max-records-per-partition `--cap`. Throughput is counted in Nexmark's way: all generated events ÷
 *    wall time (the job reads only the logs it needs); events/s per core = events ÷ process CPU time (DuckDB's
 *    threads included).
 * 4. With --latency: a generator child appends q0's input at a fixed rate in wall-clock time while q0 runs with a
 *    100 ms and a 1 s trigger; latency per record = its batch's commit time − its append time (the record's log
 *    timestamp, which the job outputs as one more column), over all records and over those appended after a 2 s
 *    warm-up (the job process starts after the generator); after the warm-up also from the event time, as before.
 * 5. With --memory-events N (≥ 10M for the issue's figure): generate N events into fresh logs and run each query over
 *    that backlog with the CLI's default batch cap (no --cap), for at most --memory-seconds (60) each; report the
 *    peak RSS, the batches run and the backlog left, i.e. whether memory follows the cap or the backlog.
 * 6. With --kafka-events N: baseline (d). N events' bids are produced to a `bid` topic (16 partitions) on librdkafka's
 *    mock broker; raw kafkajs consumes them all (no processing), then q0 runs over that topic with a Kafka source
 *    (same schema, same sink, available-now). Both pay one consumer-group join (fixed by the mock, ~3 s); the
 *    ratio is given with and without it. The mock keeps ≤ 5 MiB per partition: N ≤ ~250k. q0 runs four times,
 *    alternating the source's read_ahead off and on, with --kafka-cap records per partition and batch (5000).
 * Prints a JSON report and writes it to bench/results/nexmark.json (or to --out <file>, relative to the repository).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { batchCaps } from '../src/cli/run-command.js';
import { runJob } from '../src/driver/run-job.js';
import { Kafka, logLevel } from 'kafkajs';
import { rawKafkajs, startBroker } from './kafka-mock.js';
import type { BatchProgress } from '../src/driver/progress.js';
import { openLog, toColumnarBatch } from '../src/log/index.js';
import { NexmarkGenerator, nexmarkConfig, writeNexmarkLogs, EVENT_KINDS, type EventKind } from '../src/nexmark/index.js';
import { decodeRecords } from '../src/format/index.js';
import { parseSchemaText } from '../src/source/schema.js';
import { Engine, literal } from '../src/sql/engine.js';

const SCHEMAS: Record<EventKind, string> = {
  person: 'id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR, state VARCHAR, date_time TIMESTAMP, extra VARCHAR',
  auction:
    'id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT, date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR',
  bid: 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR',
};

const bucket = (col: string, size = '10 seconds') => `time_bucket(INTERVAL '${size}', ${col})`;
/** Per query: the logs it reads, whether it is windowed, and its logic as one DuckDB batch query (as the oracle tests). */
const QUERIES: Record<string, { reads: EventKind[]; windowed: boolean; oneShot: string }> = {
  q0: { reads: ['bid'], windowed: false, oneShot: 'SELECT auction, bidder, price, date_time, extra FROM bid' },
  q1: { reads: ['bid'], windowed: false, oneShot: 'SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bid' },
  q2: { reads: ['bid'], windowed: false, oneShot: 'SELECT auction, price FROM bid WHERE auction % 123 = 0' },
  q3: {
    reads: ['person', 'auction'],
    windowed: false,
    oneShot: `SELECT p.name, p.city, p.state, a.id FROM person AS p, auction AS a WHERE p.id = a.seller AND p.state IN ('CA', 'ID', 'OR') AND a.category = 10`,
  },
  q4: {
    reads: ['auction', 'bid'],
    windowed: false,
    oneShot: `WITH winning AS (SELECT a.id, any_value(a.category) AS category, max(b.price) AS price FROM bid AS b JOIN auction AS a ON b.auction = a.id
      WHERE b.date_time >= a.date_time AND b.date_time <= a.expires GROUP BY a.id)
      SELECT category, sum(price) / count(*) AS avg_final FROM winning GROUP BY category`,
  },
  q5: {
    reads: ['bid'],
    windowed: true,
    oneShot: `WITH w AS (SELECT ws, auction FROM bid, generate_series(${bucket('date_time', '2 seconds')} - INTERVAL '8 seconds', ${bucket('date_time', '2 seconds')}, INTERVAL '2 seconds') AS g(ws)),
      c AS (SELECT ws, auction, count(*) AS num FROM w GROUP BY ws, auction),
      m AS (SELECT ws, max(num) AS maxn FROM c GROUP BY ws)
      SELECT auction, num, ws AS starttime FROM c JOIN m USING (ws) WHERE num >= maxn`,
  },
  q7: {
    reads: ['bid'],
    windowed: true,
    oneShot: `WITH m AS (SELECT ${bucket('date_time')} AS w, max(price) AS maxprice FROM bid GROUP BY w)
      SELECT auction, price, bidder, date_time, extra FROM bid AS b JOIN m ON ${bucket('b.date_time')} = m.w AND b.price = m.maxprice`,
  },
  q8: {
    reads: ['person', 'auction'],
    windowed: true,
    oneShot: `SELECT DISTINCT p.id, p.name, ${bucket('p.date_time')} AS starttime FROM person AS p JOIN auction AS a ON a.seller = p.id AND ${bucket('a.date_time')} = ${bucket('p.date_time')}`,
  },
  q10: {
    reads: ['bid'],
    windowed: false,
    oneShot: `SELECT auction, bidder, price, date_time, extra, strftime(date_time, '%Y-%m-%d') AS dt, strftime(date_time, '%H:%M') AS hm FROM bid`,
  },
  q22: {
    reads: ['bid'],
    windowed: false,
    oneShot: `SELECT auction, bidder, price, channel, split_part(url, '/', 4) AS dir1, split_part(url, '/', 5) AS dir2, split_part(url, '/', 6) AS dir3 FROM bid`,
  },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(SELF, '../../..');
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** Child: run one query over the logs in `dir` and print one JSON line. */
async function child(query: string, dir: string, cap: number, trigger: string, stopAfterMs: number | undefined, jobFile?: string): Promise<void> {
  process.chdir(dir);
  const progress: BatchProgress[] = [];
  const ctrl = new AbortController();
  if (stopAfterMs !== undefined) setTimeout(() => ctrl.abort(), stopAfterMs).unref();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const windowed = QUERIES[query]!.windowed;
  await runJob({
    jobFile: jobFile ?? join(REPO, 'jobs/nexmark', `${query}.sql`),
    checkpoint: join(dir, 'ck', `${query}-${trigger}`),
    trigger: trigger === 'available-now' ? { kind: 'available-now' } : { kind: 'interval', ms: Number(trigger) },
    drain: windowed && trigger === 'available-now',
    // cap 0: the CLI's default caps (what a user gets without flags)
    caps: cap === 0 ? batchCaps({}, false) : { maxRecordsPerPartition: cap },
    signal: ctrl.signal,
    onBatch: (p) => progress.push(p),
  });
  const wallMs = performance.now() - t0;
  const phases: Record<string, number> = {};
  for (const p of progress) for (const [k, v] of Object.entries(p.durationMs)) phases[k] = round((phases[k] ?? 0) + v);
  const out = {
    wallMs: round(wallMs),
    cpuMs: round(cpuMs(process.cpuUsage(c0))),
    maxRssMB: round(process.resourceUsage().maxRSS / 1024),
    batches: progress.length,
    inputRows: progress.reduce((a, p) => a + p.numInputRows, 0),
    outputRows: progress.reduce((a, p) => a + p.sinks.reduce((s, x) => s + x.numOutputRows, 0), 0),
    lateRows: progress.reduce((a, p) => a + p.numRowsDroppedByWatermark, 0),
    phasesMs: phases,
    perBatch: progress.map((p) => ({
      batchId: p.batchId,
      rows: p.numInputRows,
      ms: p.durationMs.triggerExecution,
      stateRows: p.stateRows,
      stateBytes: p.stateBytes,
      end: p.batchTime + p.schedulingDelayMs + p.durationMs.triggerExecution,
    })),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

type ChildResult = {
  wallMs: number;
  cpuMs: number;
  maxRssMB: number;
  batches: number;
  inputRows: number;
  outputRows: number;
  lateRows: number;
  phasesMs: Record<string, number>;
  perBatch: { batchId: number; rows: number; ms: number; stateRows: number; stateBytes: number; end: number }[];
};

function runChild(args: string[]): ChildResult {
  const r = spawnSync(process.execPath, [SELF, '--child', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

/** (a) read and split every record of the logs; (b) the same plus JSON decode into Arrow. */
async function logBaselines(dir: string, kinds: readonly EventKind[], decode: boolean): Promise<{ ms: number; cpuMs: number; records: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let records = 0;
  for (const k of kinds) {
    const log = await openLog(join(dir, k));
    const schema = parseSchemaText(SCHEMAS[k]);
    for (let p = 0; p < log.partitionCount(); p++) {
      const end = log.endOffset(p);
      for (let from = 0n; from < end; from += 50_000n) {
        const until = from + 50_000n < end ? from + 50_000n : end;
        const batch = toColumnarBatch(log.readColumns(p, from, until));
        records += batch.count;
        if (decode) {
          const out = decodeRecords([batch], { format: 'json', schema });
          if (out.deadLetters.length > 0) throw new Error(`dead letter in ${k}: ${out.deadLetters[0]!.reason}`);
        }
      }
    }
  }
  return { ms: round(performance.now() - t0), cpuMs: round(cpuMs(process.cpuUsage(c0))), records };
}

async function writeNdjson(dir: string, events: number, seed: number): Promise<void> {
  const gen = new NexmarkGenerator(nexmarkConfig({ seed }), 1);
  const files = Object.fromEntries(EVENT_KINDS.map((k) => [k, createWriteStream(join(dir, `${k}.ndjson`))]));
  for (let done = 0; done < events;) {
    const n = Math.min(100_000, events - done);
    const chunk = gen.generate(n);
    for (const k of EVENT_KINDS) {
      const w = chunk[k][0]!;
      const starts = w.starts;
      const buf = Buffer.alloc(w.pos + starts.length);
      let at = 0;
      for (let i = 0; i < starts.length; i++) {
        const s = starts[i]!;
        const e = i + 1 < starts.length ? starts[i + 1]! : w.pos;
        at += w.buf.copy(buf, at, s, e);
        buf[at++] = 10;
      }
      if (!files[k]!.write(buf)) await new Promise<void>((r) => files[k]!.once('drain', () => r()));
    }
    done += n;
  }
  await Promise.all(Object.values(files).map((f) => new Promise<void>((r) => f!.end(() => r()))));
}

async function oneShot(dir: string, query: string): Promise<{ ms: number; rows: number }> {
  const engine = await Engine.open();
  try {
    await engine.run(`SET TimeZone = 'UTC'`);
    for (const k of EVENT_KINDS) {
      const columns = `{${parseSchemaText(SCHEMAS[k])
        .map((c) => `${c.name}: '${c.type}'`)
        .join(', ')}}`;
      await engine.run(`CREATE VIEW ${k} AS SELECT * FROM read_ndjson(${literal(join(dir, `${k}.ndjson`))}, columns = ${columns})`);
    }
    const file = join(dir, `oneshot-${query}.parquet`);
    const t0 = performance.now();
    await engine.run(`COPY (${QUERIES[query]!.oneShot}) TO ${literal(file)} (FORMAT PARQUET, COMPRESSION zstd)`);
    const ms = performance.now() - t0;
    const rows = Number((await engine.allJson(`SELECT count(*) AS n FROM read_parquet(${literal(file)})`))[0]!['n']);
    rmSync(file);
    return { ms: round(ms), rows };
  } finally {
    engine.close();
  }
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Records appended in the first this-many ms of a latency run are also reported apart (the job's start-up). */
const WARM_UP_MS = 2000;

/** Latency: q0 with a fixed-rate generator child appending in wall-clock time. */
async function latency(dir: string, rate: number, seconds: number, triggerMs: number): Promise<Record<string, unknown>> {
  const data = join(dir, `lat-${triggerMs}`);
  mkdirSync(data, { recursive: true });
  const gen = spawn(
    process.execPath,
    [
      join(REPO, 'dist/src/cli/main.js'),
      'gen',
      'nexmark',
      '--events',
      String(rate * seconds),
      '--rate',
      String(rate),
      '--realtime',
      '--to',
      join(data, 'data/nexmark'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const genDone = new Promise<number>((r) => gen.on('exit', (code) => r(code ?? 1)));
  await new Promise((r) => setTimeout(r, 300)); // the logs exist
  // q0 with one more column, each record's log timestamp: the generator stamps a chunk just before it frames and
  // appends it, so that is (a few ms before) the append time the latency is measured from. The event time is the
  // generator's schedule, which it runs behind by its own appends and fsyncs (10 ms at p50, 21 ms at p99 here).
  const job = join(data, 'q0-latency.sql');
  const q0 = readFileSync(join(REPO, 'jobs/nexmark/q0.sql'), 'utf8');
  const select = 'SELECT auction, bidder, price, date_time, extra FROM bid;';
  if (!q0.includes(select)) throw new Error(`jobs/nexmark/q0.sql no longer ends with "${select}": update the latency run`);
  writeFileSync(job, q0.replace(select, 'SELECT auction, bidder, price, date_time, extra, _timestamp AS appended_at FROM bid;'));
  const res = runChild(['q0', data, '1000000', String(triggerMs), String(seconds * 1000 + 3000), job]);
  if ((await genDone) !== 0) throw new Error('latency generator failed');
  // A row's batch's end is its commit time.
  const engine = await Engine.open();
  try {
    const ends = res.perBatch.map((b) => `(${b.batchId}, ${b.end})`).join(', ');
    const rows = await engine.allJson(
      `WITH b(batch_id, end_ms) AS (VALUES ${ends}),
            o AS (SELECT epoch_ms(appended_at) AS t, epoch_ms(date_time) AS e, CAST(regexp_extract(filename, 'part-0*([0-9]+)', 1) AS BIGINT) AS batch_id FROM read_parquet(${literal(join(data, 'out/nexmark/q0/*.parquet'))}, filename = true))
       SELECT end_ms - t AS ms, end_ms - e AS from_event_ms, t FROM o JOIN b USING (batch_id) ORDER BY ms`,
    );
    const ms = rows.map((r) => Number(r['ms']));
    const fromEvent = (from: number) =>
      rows
        .filter((r) => Number(r['t']) >= from)
        .map((r) => Number(r['from_event_ms']))
        .sort((a, b) => a - b);
    // The job child starts after the generator (it opens the logs the generator creates): its first batch holds the
    // records appended while the process, DuckDB and the JIT started. Both figures are reported: all records, and
    // records appended after the first WARM_UP_MS (as Nexmark/Yahoo-style harnesses discard a warm-up).
    const firstAppend = rows.reduce((m, r) => Math.min(m, Number(r['t'])), Infinity);
    const steady = rows.filter((r) => Number(r['t']) >= firstAppend + WARM_UP_MS).map((r) => Number(r['ms']));
    const lags = res.perBatch.map((b) => b.rows);
    return {
      triggerMs,
      rate,
      seconds,
      records: ms.length,
      p50Ms: percentile(ms, 0.5),
      p99Ms: percentile(ms, 0.99),
      maxMs: ms.at(-1),
      afterWarmUp: {
        warmUpMs: WARM_UP_MS,
        records: steady.length,
        p50Ms: percentile(steady, 0.5),
        p99Ms: percentile(steady, 0.99),
        maxMs: steady.at(-1),
        fromEventTime: { p50Ms: percentile(fromEvent(firstAppend + WARM_UP_MS), 0.5), p99Ms: percentile(fromEvent(firstAppend + WARM_UP_MS), 0.99) },
      },
      batches: res.batches,
      rowsPerBatchFirstHalf: lags.slice(0, lags.length >> 1).reduce((a, b) => a + b, 0) / Math.max(1, lags.length >> 1),
      rowsPerBatchSecondHalf: lags.slice(lags.length >> 1).reduce((a, b) => a + b, 0) / Math.max(1, lags.length - (lags.length >> 1)),
      cpuMs: res.cpuMs,
      maxRssMB: res.maxRssMB,
    };
  } finally {
    engine.close();
  }
}

/** (d): raw kafkajs consumption of the bid topic vs q0 reading it through duckstream's Kafka source. */
async function kafkaRuns(dir: string, events: number, cap: number): Promise<Record<string, unknown>> {
  const partitions = 16;
  const broker = await startBroker();
  try {
    await broker.command(`topic bid ${partitions} 1`);
    const client = new Kafka({ clientId: 'bench-nexmark', brokers: broker.bootstrap.split(','), logLevel: logLevel.NOTHING });
    const producer = client.producer();
    await producer.connect();
    const gen = new NexmarkGenerator(nexmarkConfig({ seed: 3 }), partitions);
    let bids = 0;
    let bytes = 0;
    for (let done = 0; done < events;) {
      const n = Math.min(20_000, events - done);
      const chunk = gen.generate(n);
      for (const [p, w] of chunk.bid.entries()) {
        const messages = [];
        for (let i = 0; i < w.starts.length; i++) {
          const end = i + 1 < w.starts.length ? w.starts[i + 1]! : w.pos;
          messages.push({ partition: p, value: w.buf.subarray(w.starts[i]!, end) });
          bytes += end - w.starts[i]!;
        }
        bids += messages.length;
        if (messages.length > 0) await producer.send({ topic: 'bid', acks: 1, messages });
      }
      done += n;
    }
    await producer.disconnect();
    const raw = await rawKafkajs(client, 'bid', bids);
    // read-ahead off and on, alternated twice (the first run also warms the JIT), each over the whole topic with its
    // own checkpoint: the same run, the same data
    const off: KafkaQ0Run[] = [];
    const on: KafkaQ0Run[] = [];
    for (let i = 0; i < 4; i++) (i % 2 === 0 ? off : on).push(await kafkaQ0(dir, broker.bootstrap, cap, i % 2 === 1, bids, i));
    // duckstream's reader pays the same join; the ratio after it is estimated with the raw consumer's join time
    const ratios = (q: KafkaQ0Run) => ({ ratio: round(raw.totalMs / q.ms, 2), ratioAfterJoin: round(raw.afterJoinMs / (q.ms - raw.joinMs), 2) });
    const best = (runs: KafkaQ0Run[]) => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const out = {
      events,
      bidRecords: bids,
      megabytes: round(bytes / 1e6, 1),
      partitions,
      maxRecordsPerPartition: cap,
      rawKafkajs: {
        ms: round(raw.totalMs),
        joinMs: round(raw.joinMs),
        recordsPerSecond: round((bids * 1000) / raw.totalMs),
        recordsPerSecondAfterJoin: round((bids * 1000) / raw.afterJoinMs),
      },
      // the faster of two runs with read-ahead (the default), and each run with and without it
      q0: best(on),
      ...ratios(best(on)),
      readAheadOn: on.map((q) => ({ ms: q.ms, recordsPerSecond: q.recordsPerSecond, prefetchUsed: q.prefetchUsed, ...ratios(q) })),
      readAheadOff: off.map((q) => ({ ms: q.ms, recordsPerSecond: q.recordsPerSecond, ...ratios(q), phasesMs: q.phasesMs })),
    };
    process.stderr.write(`kafka: ${JSON.stringify(out)}\n`);
    return out;
  } finally {
    broker.stop();
  }
}

interface KafkaQ0Run {
  ms: number;
  cpuMs: number;
  batches: number;
  recordsPerSecond: number;
  prefetchUsed: number;
  phasesMs: Record<string, number>;
}

/** q0 over the `bid` topic through duckstream's Kafka source, available-now, read-ahead on or off. */
async function kafkaQ0(dir: string, bootstrap: string, cap: number, readAhead: boolean, bids: number, run: number): Promise<KafkaQ0Run> {
  const q0 = readFileSync(join(REPO, 'jobs/nexmark/q0.sql'), 'utf8').replace(
    "connector = 'log', path = 'data/nexmark/bid'",
    `connector = 'kafka', brokers = '${bootstrap}', topic = 'bid', max_records_per_partition = '${cap}', read_ahead = '${readAhead}'`,
  );
  if (!q0.includes("connector = 'kafka'")) throw new Error('jobs/nexmark/q0.sql changed: cannot point it at Kafka');
  const jobDir = join(dir, `kafka-q0-${run}`);
  mkdirSync(jobDir, { recursive: true });
  writeFileSync(join(jobDir, 'q0.sql'), q0);
  const progress: BatchProgress[] = [];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const cwd = process.cwd();
  process.chdir(jobDir);
  try {
    await runJob({ jobFile: join(jobDir, 'q0.sql'), checkpoint: join(jobDir, 'ck'), trigger: { kind: 'available-now' }, onBatch: (p) => progress.push(p) });
  } finally {
    process.chdir(cwd);
  }
  const jobMs = performance.now() - t0;
  const read = progress.reduce((a, p) => a + p.numInputRows, 0);
  if (read !== bids) throw new Error(`q0 over Kafka read ${read} records, expected ${bids}`);
  const phases: Record<string, number> = {};
  for (const p of progress) for (const [k, v] of Object.entries(p.durationMs)) phases[k] = round((phases[k] ?? 0) + v);
  const prefetchUsed = progress.filter((p) => p.sources.some((s) => s.prefetch === 'used')).length;
  return {
    ms: round(jobMs),
    cpuMs: round(cpuMs(process.cpuUsage(c0))),
    batches: progress.length,
    recordsPerSecond: round((bids * 1000) / jobMs),
    prefetchUsed,
    phasesMs: phases,
  };
}

/** Peak RSS per query over a large backlog, with the CLI's default batch cap (cap 0 in the child). */
async function memoryRuns(dir: string, queries: readonly string[], events: number, seconds: number): Promise<Record<string, unknown>> {
  const data = join(dir, 'memory');
  const t0 = performance.now();
  const written = await writeNexmarkLogs(nexmarkConfig({ seed: 2 }), { dir: join(data, 'data/nexmark'), events, partitions: 4 });
  const out: Record<string, unknown> = {
    events,
    bytes: written.bytes,
    generateMs: round(performance.now() - t0),
    secondsPerQuery: seconds,
    defaultCaps: batchCaps({}, false),
    queries: {},
  };
  for (const q of queries) {
    const run = runChild([q, data, '0', 'available-now', String(seconds * 1000)]);
    const backlog = QUERIES[q]!.reads.reduce((a, k) => a + written.records[k], 0);
    const rows = run.perBatch.map((b) => b.rows);
    (out['queries'] as Record<string, unknown>)[q] = {
      maxRssMB: run.maxRssMB,
      batches: run.batches,
      recordsRead: run.inputRows,
      backlogRecords: backlog,
      backlogLeft: backlog - run.inputRows,
      maxRowsPerBatch: Math.max(0, ...rows),
      wallMs: run.wallMs,
    };
    process.stderr.write(`memory ${q}: ${JSON.stringify((out['queries'] as Record<string, unknown>)[q])}\n`);
  }
  return out;
}

async function main(): Promise<void> {
  const events = Number(arg('events') ?? 1_000_000);
  const cap = Number(arg('cap') ?? 50_000);
  const seed = 1;
  const queries = (arg('queries') ?? Object.keys(QUERIES).join(',')).split(',');
  for (const q of queries) if (!QUERIES[q]) throw new Error(`unknown query ${q} (have ${Object.keys(QUERIES).join(', ')}; q3/q4 are refused by the engine)`);
  const dir = mkdtempSync(join(tmpdir(), 'ds-nexmark-bench-'));
  try {
    const config = nexmarkConfig({ seed });
    const g0 = performance.now();
    const gc0 = process.cpuUsage();
    const gen = new NexmarkGenerator(config, 4);
    for (let done = 0; done < events; done += 100_000) gen.generate(Math.min(100_000, events - done));
    const genOnly = { ms: round(performance.now() - g0), cpuMs: round(cpuMs(process.cpuUsage(gc0))) };
    const written = await writeNexmarkLogs(config, { dir: join(dir, 'data/nexmark'), events, partitions: 4 });
    await writeNdjson(dir, events, seed);
    const read = await logBaselines(join(dir, 'data/nexmark'), EVENT_KINDS, false);
    const decode = await logBaselines(join(dir, 'data/nexmark'), EVENT_KINDS, true);
    const readBid = await logBaselines(join(dir, 'data/nexmark'), ['bid'], false);
    const decodeBid = await logBaselines(join(dir, 'data/nexmark'), ['bid'], true);
    const readPersonAuction = await logBaselines(join(dir, 'data/nexmark'), ['person', 'auction'], false);
    const decodePersonAuction = await logBaselines(join(dir, 'data/nexmark'), ['person', 'auction'], true);
    const results: Record<string, unknown> = {};
    for (const q of queries) {
      const shot = await oneShot(dir, q);
      const run = runChild([q, dir, String(cap), 'available-now']);
      const states = run.perBatch.map((b) => b.stateRows);
      results[q] = {
        eventsPerSecond: round((events * 1000) / run.wallMs),
        eventsPerCpuSecond: round((events * 1000) / run.cpuMs),
        coresUsed: round(run.cpuMs / run.wallMs, 2),
        recordsRead: run.inputRows,
        recordsReadPerSecond: round((run.inputRows * 1000) / run.wallMs),
        wallMs: run.wallMs,
        cpuMs: run.cpuMs,
        maxRssMB: run.maxRssMB,
        batches: run.batches,
        outputRows: run.outputRows,
        lateRows: run.lateRows,
        duckdbOneShot: { ms: shot.ms, rows: shot.rows, eventsPerSecond: round((events * 1000) / shot.ms) },
        ratioToDuckdbOneShot: round(shot.ms / run.wallMs, 3),
        // throughput ÷ the (a) and (b) baselines of the logs the query reads: baseline time ÷ query time
        ratioToReadBaseline: round((q === 'q8' ? readPersonAuction.ms : readBid.ms) / run.wallMs, 3),
        ratioToDecodeBaseline: round((q === 'q8' ? decodePersonAuction.ms : decodeBid.ms) / run.wallMs, 3),
        phasesMs: run.phasesMs,
        ...(QUERIES[q]!.windowed
          ? {
              stateRowsMax: Math.max(...states),
              stateRowsMean: round(states.reduce((a, b) => a + b, 0) / Math.max(1, states.length)),
              stateBytesMax: Math.max(...run.perBatch.map((b) => b.stateBytes)),
              perBatch: run.perBatch.map(({ end: _end, ...b }) => b),
            }
          : {}),
      };
      process.stderr.write(`${q}: ${JSON.stringify(results[q]).slice(0, 300)}\n`);
    }
    const lat: unknown[] = [];
    if (process.argv.includes('--latency')) {
      // 50 % and 80 % of q0's measured maximum (or --latency-rate), each with a 100 ms and a 1 s trigger.
      const max = (results['q0'] as { eventsPerSecond: number } | undefined)?.eventsPerSecond;
      const rates = arg('latency-rate') ? [Number(arg('latency-rate'))] : max ? [0.5, 0.8].map((f) => Math.round(f * max)) : [20_000];
      for (const rate of rates)
        for (const t of [100, 1000])
          lat.push({ ofMaximum: max ? round(rate / max, 2) : null, ...(await latency(dir, rate, Number(arg('latency-seconds') ?? 15), t)) });
    }
    const kafka = arg('kafka-events') ? await kafkaRuns(dir, Number(arg('kafka-events')), Number(arg('kafka-cap') ?? 5000)) : undefined;
    const memory = arg('memory-events') ? await memoryRuns(dir, queries, Number(arg('memory-events')), Number(arg('memory-seconds') ?? 60)) : undefined;
    const report = {
      benchmark: 'nexmark',
      date: new Date().toISOString(),
      machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, ${round(totalmem() / 2 ** 30, 1)} GiB`,
      loadAverageAtStart: loadavg().map((x) => round(x, 2)),
      command: `npm run bench -- nexmark ${process.argv.slice(2).join(' ')}`.trim(),
      events,
      maxRecordsPerPartition: cap,
      generator: {
        records: written.records,
        bytes: written.bytes,
        generateOnly: { ...genOnly, eventsPerSecond: round((events * 1000) / genOnly.ms) },
        intoEmbeddedLog: { ms: round(written.wallMs), eventsPerSecond: round((events * 1000) / written.wallMs) },
      },
      baselines: {
        readSplitAllLogs: { ...read, recordsPerSecond: round((read.records * 1000) / read.ms) },
        readSplitDecodeAllLogs: { ...decode, recordsPerSecond: round((decode.records * 1000) / decode.ms) },
        readSplitBid: { ...readBid, recordsPerSecond: round((readBid.records * 1000) / readBid.ms) },
        readSplitDecodeBid: { ...decodeBid, recordsPerSecond: round((decodeBid.records * 1000) / decodeBid.ms) },
        readSplitPersonAuction: { ...readPersonAuction, recordsPerSecond: round((readPersonAuction.records * 1000) / readPersonAuction.ms) },
        readSplitDecodePersonAuction: { ...decodePersonAuction, recordsPerSecond: round((decodePersonAuction.records * 1000) / decodePersonAuction.ms) },
      },
      queries: results,
      latency: lat,
      ...(memory ? { memory } : {}),
      ...(kafka ? { kafka } : {}),
    };
    const json = JSON.stringify(report, null, 2);
    const out = resolve(REPO, arg('out') ?? 'bench/results/nexmark.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, json + '\n');
    process.stdout.write(json + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [, , , query, dir, cap, trigger, stopAfter, jobFile] = process.argv;
  await child(query!, dir!, Number(cap), trigger!, stopAfter === undefined ? undefined : Number(stopAfter), jobFile);
} else {
  await main();
}
