/**
 * decodeRecords throughput on 1M ~125-byte JSON records (6 fields) against bare JSON.parse of the same values.
 * Build and run: `npx tsc -p . && node dist/bench/decode.js [records]`.
 *
 * `node dist/bench/decode.js workers [events]`: the log source's read + decode on the main thread against the decode
 * worker pool (src/source/decode-pool.ts), per batch size, over Nexmark bids in an embedded log of 4 partitions:
 * where the worker round trip starts to pay (LogSource's decodeWorkersMinRecords).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nexmarkConfig, writeNexmarkLogs } from '../src/nexmark/index.js';
import { decodeRecords } from '../src/source/decode/index.js';
import { LogSource } from '../src/source/log-source.js';
import { parseSchemaText, type ValueSchema } from '../src/source/schema.js';
import type { RawRecordBatch } from '../src/source/source.js';

if (process.argv[2] === 'workers') {
  await workersBench(Number(process.argv[3] ?? 1_000_000));
  process.exit(0);
}

const N = Number(process.argv[2] ?? 1_000_000);
const PARTITIONS = 4;
const ROUNDS = 5;

const schema: ValueSchema = [
  { name: 'ts', type: 'TIMESTAMP', required: true },
  { name: 'user', type: 'VARCHAR', required: false },
  { name: 'url', type: 'VARCHAR', required: false },
  { name: 'status', type: 'INTEGER', required: false },
  { name: 'latency_ms', type: 'DOUBLE', required: false },
  { name: 'ok', type: 'BOOLEAN', required: false },
];

/**
 * Values and keys are views into one buffer per partition, as the embedded log's reader returns them
 * (src/log/record-columns.ts). A fresh ArrayBuffer per value would mostly measure V8's GC of 2M ArrayBuffers.
 */
function makeBatches(): RawRecordBatch[] {
  const encoder = new TextEncoder();
  const batches: RawRecordBatch[] = [];
  const perPartition = Math.ceil(N / PARTITIONS);
  for (let p = 0; p < PARTITIONS; p++) {
    const count = Math.min(perPartition, N - p * perPartition);
    const offsets = new BigInt64Array(count);
    const timestamps = new Float64Array(count);
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    const segment = new Uint8Array(count * 160);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const n = p * perPartition + i;
      const ms = 1714560000000 + n * 37;
      offsets[i] = BigInt(i);
      timestamps[i] = ms;
      const record = {
        ts: new Date(ms).toISOString(),
        user: `user_${n % 50000}`,
        url: `/api/v1/items/${(n * 7919) % 100000}`,
        status: [200, 200, 200, 404, 500][n % 5],
        latency_ms: ((n * 131) % 100000) / 1000,
        ok: n % 7 !== 0,
      };
      const k = encoder.encodeInto(`k${n % 1000}`, segment.subarray(at)).written;
      keys.push(segment.subarray(at, at + k));
      at += k;
      const v = encoder.encodeInto(JSON.stringify(record), segment.subarray(at)).written;
      values.push(segment.subarray(at, at + v));
      at += v;
    }
    batches.push({ topic: 'events', partition: p, count, offsets, timestamps, keys, values, headers: new Array(count).fill(null) });
  }
  return batches;
}

function time(f: () => number): { ms: number; check: number } {
  const t0 = performance.now();
  const check = f();
  return { ms: performance.now() - t0, check };
}

function rate(ms: number): string {
  return `${((N / ms) * 1000 / 1e6).toFixed(2)}M records/s`;
}

const batches = makeBatches();
const bytes = batches.reduce((a, b) => a + b.values.reduce((s, v) => s + (v?.length ?? 0), 0), 0);
console.log(`${N} records, ${(bytes / N).toFixed(1)} bytes per value on average, ${PARTITIONS} partitions`);

const textDecoder = new TextDecoder();
for (let round = 1; round <= ROUNDS; round++) {
  const parse = time(() => {
    let sum = 0;
    for (const b of batches) for (const v of b.values) sum += (JSON.parse(textDecoder.decode(v!)) as { status: number }).status;
    return sum;
  });
  const decode = time(() => {
    const out = decodeRecords(batches, { format: 'json', schema });
    if (out.deadLetters.length > 0) throw new Error(`unexpected dead letter: ${out.deadLetters[0]!.reason}`);
    return out.table.numRows;
  });
  console.log(
    `round ${round}: decodeRecords ${rate(decode.ms)} (${decode.ms.toFixed(0)} ms) | ` +
      `TextDecoder+JSON.parse ${rate(parse.ms)} (${parse.ms.toFixed(0)} ms) | ratio ${(parse.ms / decode.ms).toFixed(2)}x`,
  );
}

/** Main thread vs worker pool per batch size (records over all 4 partitions); medians of alternating rounds, warm pool. */
async function workersBench(events: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-bench-decode-workers-'));
  try {
    await writeNexmarkLogs(nexmarkConfig({ seed: 4 }), { dir, events, partitions: 4 });
    const schema = parseSchemaText('auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR');
    const open = (decodeWorkers: number | undefined) =>
      LogSource.open('bid', join(dir, 'bid'), { format: 'json', schema, maxValueBytes: undefined, startingPosition: 'earliest', timestampColumns: [], decodeWorkers, decodeWorkersMinRecords: 0 });
    const [main, pooled] = [await open(0), await open(undefined)];
    const ends = [...(await main.latestOffsets()).values()];
    const available = ends.reduce((a, b) => a + Number(b), 0);
    console.log(`${available} bids in 4 partitions; wall ms per batch (median of rounds) and CPU ms per batch (all threads, mean), main thread vs worker pool (min(4, ${availableParallelism()} cores) threads); load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    const ranges = (records: number, start: number) =>
      ends.map((end, partition) => {
        const per = Math.floor(records / 4);
        const from = Math.min(Number(end) - per, start);
        return { topic: 'bid', partition, from: BigInt(from), until: BigInt(from + per) };
      });
    await pooled.read(ranges(40_000, 0)); // start the threads
    for (const size of [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 800_000].filter((n) => n <= available)) {
      const rounds = size >= 200_000 ? 5 : size >= 20_000 ? 11 : 31;
      const times: [number[], number[]] = [[], []];
      const cpu = [0, 0];
      for (let r = 0; r < rounds; r++) {
        // different offsets each round, alternating which path goes first
        const rs = ranges(size, (r * 7919) % Math.max(1, Math.floor(available / 4) - size / 4));
        for (const which of r % 2 === 0 ? [0, 1] : [1, 0]) {
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          const batch = await (which === 0 ? main : pooled).read(rs);
          times[which]!.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          cpu[which]! += (c.user + c.system) / 1000 / rounds;
          if (batch.table.numRows !== size - (size % 4)) throw new Error(`read ${batch.table.numRows} rows for ${size}`);
        }
      }
      const [m, w] = times.map(median) as [number, number];
      console.log(
        `${String(size).padStart(7)} records: main ${m.toFixed(2)} ms (cpu ${cpu[0]!.toFixed(1)}) | workers ${w.toFixed(2)} ms (cpu ${cpu[1]!.toFixed(1)}) | ` +
          `wall workers/main ${(w / m).toFixed(2)}, cpu ${(cpu[1]! / cpu[0]!).toFixed(2)}`,
      );
    }
    await main.close();
    await pooled.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
