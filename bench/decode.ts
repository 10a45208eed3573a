/**
 * decodeRecords throughput on 1M ~125-byte JSON records (6 fields) against bare JSON.parse of the same values.
 * Build and run: `npx tsc -p . && node dist/bench/decode.js [records]`.
 */
import { performance } from 'node:perf_hooks';
import { decodeRecords } from '../src/format/index.js';
import type { ValueSchema } from '../src/source/schema.js';
import type { RawRecordBatch } from '../src/source/source.js';

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
  return `${(((N / ms) * 1000) / 1e6).toFixed(2)}M records/s`;
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
