/**
 * Throughput of the Nexmark generator (issue 6): events generated in memory, and events generated and appended
 * into the three embedded logs (4 partitions each, one fsync per append) as `duckstream gen nexmark` does.
 * Run: npx tsc -p . && node dist/bench/nexmark-gen.js [--events 1000000] [--runs 3] [--workers n]
 * CPU times are the whole process's (all threads). Baseline in the same run: the disk's durable write speed, i.e. as
 * many bytes as the logs hold written into one file in 1 MiB writes with one fsync at the end; no appender can be
 * faster than that, so generate+append is also reported as a ratio to it.
 * Prints events/s per run; no assertions (benchmarks are scripts, never timed tests).
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NexmarkGenerator, nexmarkConfig, writeNexmarkLogs } from '../src/nexmark/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const events = arg('events', 1_000_000);
const runs = arg('runs', 3);
/** --workers n: generator threads for the append part (default: writeNexmarkLogs's). */
const workers = arg('workers', 0);
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const config = nexmarkConfig({ seed: 1 });
const rate = (ms: number) => Math.round((events * 1000) / ms).toLocaleString('en');

for (let run = 1; run <= runs; run++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const gen = new NexmarkGenerator(config, 4);
  let bytes = 0;
  for (let done = 0; done < events; done += 100_000) {
    const chunk = gen.generate(Math.min(100_000, events - done));
    for (const k of ['person', 'auction', 'bid'] as const) for (const w of chunk[k]) bytes += w.pos;
  }
  const genMs = performance.now() - t0;
  const genCpu = cpuMs(process.cpuUsage(c0));
  const dir = mkdtempSync(join(tmpdir(), 'ds-nexmark-gen-bench-'));
  try {
    const c1 = process.cpuUsage();
    const written = await writeNexmarkLogs(config, { dir, events, partitions: 4, ...(workers ? { workers } : {}) });
    const appendCpu = cpuMs(process.cpuUsage(c1));
    const threads = (written as { workers?: number }).workers ?? 1;
    const logBytes = bytesUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    const diskMs = durableWriteMs(dir, logBytes);
    console.log(
      `run ${run}: generate ${events} events (${(bytes / 1e6).toFixed(0)} MB) in ${genMs.toFixed(0)} ms = ${rate(genMs)} events/s (CPU ${genCpu.toFixed(0)} ms); ` +
        `generate+append (${threads} thread(s)) ${written.wallMs.toFixed(0)} ms = ${rate(written.wallMs)} events/s (CPU ${appendCpu.toFixed(0)} ms); ` +
        `disk floor: ${(logBytes / 1e6).toFixed(0)} MB written and fsynced in ${diskMs.toFixed(0)} ms = ${rate(diskMs)} events/s at most (generate+append ÷ floor: ${(diskMs / written.wallMs).toFixed(2)})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of all files under `dir`. */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

/** Write `bytes` bytes into one new file under `dir` (1 MiB writes), fsync it: ms. */
function durableWriteMs(dir: string, bytes: number): number {
  rmSync(dir, { recursive: true, force: true });
  const file = join(mkdtempSync(join(tmpdir(), 'ds-nexmark-gen-disk-')), 'floor');
  const buf = Buffer.alloc(1 << 20, 0x61);
  const t0 = performance.now();
  const fd = openSync(file, 'w');
  try {
    for (let left = bytes; left > 0; left -= buf.length) writeSync(fd, buf, 0, Math.min(left, buf.length));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const ms = performance.now() - t0;
  rmSync(join(file, '..'), { recursive: true, force: true });
  return ms;
}
