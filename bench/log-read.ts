/**
 * Throughput of the embedded log: append then read 1M records of ~130 bytes (or ~`valueBytes`) in one partition.
 * Run: npx tsc -p . && node dist/bench/log-read.js [records] [valueBytes]   (Nexmark bids: valueBytes 240)
 * Prints records/s; no assertions (DESIGN: benchmarks are scripts, never timed tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, openLog, type AppendRecord } from '../src/log/index.js';

const total = Number(process.argv[2] ?? 1_000_000);
/** Values are padded (in their "note" field) to about this many bytes; unset: ~130 bytes, as before. */
const valueBytes = process.argv[3] === undefined ? 0 : Number(process.argv[3]);
const chunk = 10_000;
const root = mkdtempSync(join(tmpdir(), 'duckstream-log-bench-'));

function records(from: number, n: number): AppendRecord[] {
  const out: AppendRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = from + i;
    out[i] = {
      key: `user-${id % 1000}`,
      value:
        pad(`{"id":${id},"user":"user-${id % 1000}","amount":${(id % 997) * 1.25},"kind":"purchase","ts":"2024-05-01T12:00:00.000Z","note":"x${id % 10}`) +
        '"}',
      timestamp: 1_714_564_800_000 + id,
    };
  }
  return out;
}

function pad(s: string): string {
  return valueBytes > s.length + 2 ? s + 'y'.repeat(valueBytes - s.length - 2) : s;
}

try {
  const dir = join(root, 'bench');
  const log = await createLog(dir, { partitions: 1 });
  let appendMs = 0;
  for (let i = 0; i < total; i += chunk) {
    const batch = records(i, Math.min(chunk, total - i)); // built outside the timed part
    const start = performance.now();
    await log.append(0, batch);
    appendMs += performance.now() - start;
  }
  let secs = appendMs / 1000;
  let t0: number;
  const info = log.describe()[0]!;
  console.log(
    `append: ${total} records (${(info.bytes / total).toFixed(0)} B/record on disk, ${info.segments} segments) in ${secs.toFixed(2)} s = ${Math.round(total / secs).toLocaleString('en')} records/s (${chunk} per append, fsync each)`,
  );
  await log.close();

  const reader = await openLog(dir);
  for (let run = 1; run <= 3; run++) {
    t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let batch: ReturnType<typeof reader.read> | undefined = reader.read(0, 0n, BigInt(total));
    secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    let bytes = 0;
    for (const v of batch.values) bytes += v!.length;
    const count = batch.count;
    batch = undefined; // let it go before the next run
    console.log(
      `read #${run}: ${count} records (${(bytes / 1e6).toFixed(0)} MB of values) in ${secs.toFixed(2)} s = ${Math.round(total / secs).toLocaleString('en')} records/s (CPU ${cpuSecs.toFixed(2)} s: ${Math.round(total / cpuSecs).toLocaleString('en')} records per CPU-second)`,
    );
  }
  for (let run = 1; run <= 3; run++) {
    t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const columns = reader.readColumns(0, 0n, BigInt(total));
    secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    console.log(
      `readColumns #${run}: ${columns.count} records in ${secs.toFixed(2)} s = ${Math.round(total / secs).toLocaleString('en')} records/s (CPU ${cpuSecs.toFixed(2)} s: ${Math.round(total / cpuSecs).toLocaleString('en')} records per CPU-second)`,
    );
  }
  t0 = performance.now();
  let n = 0;
  for (let from = 0; from < total; from += chunk) n += reader.read(0, BigInt(from), BigInt(Math.min(total, from + chunk))).count;
  secs = (performance.now() - t0) / 1000;
  console.log(`read in ${chunk}-record ranges: ${n} records in ${secs.toFixed(2)} s = ${Math.round(n / secs).toLocaleString('en')} records/s`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
