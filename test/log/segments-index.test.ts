import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLog, openLog, type EmbeddedLog } from '../../src/log/index.js';
import { ChunkReader } from '../../src/log/chunk-reader.js';
import { listSegments } from '../../src/log/segment-files.js';
import { seekStart } from '../../src/log/segment-scan.js';
import { tempDir, text } from './helpers.js';

const N = 3000;
const valueOf = (i: number): string => `value-${i}-${'y'.repeat((i * 7) % 61)}`;

/** Deterministic pseudo-random ranges [from, until) over [0, N]. */
function ranges(count: number): [number, number][] {
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const out: [number, number][] = [
    [0, N],
    [N - 1, N],
    [0, 1],
    [N, N],
  ];
  while (out.length < count) {
    const a = Math.floor(rnd() * N);
    const b = Math.min(N, a + Math.floor(rnd() * 400));
    out.push([a, b]);
  }
  return out;
}

function checkRange(log: EmbeddedLog, from: number, until: number): void {
  const b = log.read(0, BigInt(from), BigInt(until));
  expect(b.count).toBe(until - from);
  for (let i = 0; i < b.count; i++) {
    const o = from + i;
    if (b.offsets[i] !== BigInt(o) || text(b.values[i]) !== valueOf(o) || text(b.keys[i]) !== `k${o}` || b.timestamps[i] !== o * 10) {
      throw new Error(`range [${from}, ${until}) record ${i}: got offset ${b.offsets[i]} value ${text(b.values[i])}`);
    }
  }
}

describe('seeking across many small segments', () => {
  const t = tempDir();
  const dir = join(t.dir, 'seek');
  let log: EmbeddedLog;
  const partDir = join(dir, '0');

  beforeAll(async () => {
    log = await createLog(dir, { partitions: 1, segmentBytes: 16 * 1024, indexIntervalBytes: 256 });
    for (let i = 0; i < N; i += 50) {
      await log.append(
        0,
        Array.from({ length: 50 }, (_, j) => ({ key: `k${i + j}`, value: valueOf(i + j), timestamp: (i + j) * 10 })),
      );
    }
    await log.close();
    log = await openLog(dir);
  });
  afterAll(() => t.cleanup());

  it('rolled into many segments named by base offset, each with an index', () => {
    const segments = listSegments(partDir);
    expect(segments.length).toBeGreaterThan(10);
    expect(segments[0]!.base).toBe(0);
    for (const s of segments) expect(readFileSync(s.indexFile).length).toBeGreaterThan(0);
    expect(log.endOffset(0)).toBe(BigInt(N));
    expect(log.describe()[0]!.segments).toBe(segments.length);
  });

  it('uses the index to seek into the middle of a segment', () => {
    const seg = listSegments(partDir)[3]!;
    const reader = new ChunkReader(seg.logFile);
    try {
      const pos = seekStart(seg, reader, seg.base + 40);
      expect(pos.position).toBeGreaterThan(0);
      expect(pos.offset).toBeGreaterThan(seg.base);
      expect(pos.offset).toBeLessThanOrEqual(seg.base + 40);
    } finally {
      reader.close();
    }
  });

  it('reads exact ranges in the middle, across segment boundaries', () => {
    const segments = listSegments(partDir);
    const boundary = segments[5]!.base;
    checkRange(log, boundary - 3, boundary + 3);
    checkRange(log, boundary, boundary + 1);
    checkRange(log, boundary - 1, boundary);
    for (const [a, b] of ranges(150)) checkRange(log, a, b);
  });

  it('gives the same results with short, garbage, stale or deleted indexes', () => {
    const segments = listSegments(partDir);
    // short: cut each index to an odd length
    for (const s of segments) {
      const len = readFileSync(s.indexFile).length;
      truncateSync(s.indexFile, Math.floor(len / 2) + 3);
    }
    for (const [a, b] of ranges(60)) checkRange(log, a, b);
    // stale: every segment gets the index of another segment (wrong positions for its records)
    const indexes = segments.map((s) => readFileSync(s.indexFile));
    segments.forEach((s, i) => writeFileSync(s.indexFile, indexes[(i + 1) % indexes.length]!));
    for (const [a, b] of ranges(60)) checkRange(log, a, b);
    // garbage: random bytes, entries not ascending
    let x = 7;
    for (const s of segments) writeFileSync(s.indexFile, Buffer.from(Array.from({ length: 203 }, () => (x = (x * 31 + 11) & 255))));
    for (const [a, b] of ranges(60)) checkRange(log, a, b);
    // positions that fall inside records
    for (const s of segments) {
      const b = Buffer.alloc(16);
      b.writeUInt32LE(5, 0);
      b.writeUInt32LE(17, 4);
      b.writeUInt32LE(9, 8);
      b.writeUInt32LE(1000, 12);
      writeFileSync(s.indexFile, b);
    }
    for (const [a, b] of ranges(60)) checkRange(log, a, b);
    // deleted
    for (const s of segments) rmSync(s.indexFile);
    expect(readdirSync(partDir).some((f) => f.endsWith('.index'))).toBe(false);
    for (const [a, b] of ranges(60)) checkRange(log, a, b);
    const fresh = new ChunkReader(segments[3]!.logFile);
    try {
      expect(seekStart(segments[3]!, fresh, segments[3]!.base + 40).position).toBe(0);
    } finally {
      fresh.close();
    }
    expect(log.endOffset(0)).toBe(BigInt(N));
  });

  it('an appender reopening the partition rebuilds the newest index and continues', async () => {
    const appender = await openLog(dir);
    expect(await appender.append(0, [{ key: `k${N}`, value: valueOf(N), timestamp: N * 10 }])).toEqual({ baseOffset: BigInt(N), count: 1 });
    const newest = listSegments(partDir).at(-1)!;
    expect(readFileSync(newest.indexFile).length % 8).toBe(0);
    await appender.close();
    expect(log.endOffset(0)).toBe(BigInt(N + 1));
    expect(text(log.read(0, BigInt(N), BigInt(N + 1)).values[0])).toBe(valueOf(N));
  });
});

describe('records larger than a read chunk', () => {
  it('reads values of 200 KiB and 20 MiB whole', async () => {
    const t = tempDir();
    try {
      const log = await createLog(t.dir + '/big', { partitions: 1 });
      const mid = Buffer.alloc(200 * 1024, 'm');
      const huge = Buffer.alloc(20 * 1024 * 1024, 'h');
      huge[huge.length - 1] = 'z'.charCodeAt(0);
      await log.append(0, [{ value: 'small' }, { value: mid }, { value: mid }, { value: huge }, { value: 'after' }]);
      const b = log.read(0, 0n, 5n);
      expect(b.values.map((v) => v!.length)).toEqual([5, mid.length, mid.length, huge.length, 5]);
      expect(Buffer.from(b.values[3]!).equals(huge)).toBe(true);
      expect(text(b.values[4])).toBe('after');
      expect(text(log.read(0, 3n, 5n).values[1])).toBe('after');
      await log.close();
      const again = await openLog(t.dir + '/big');
      expect(again.endOffset(0)).toBe(5n);
      expect((await again.append(0, [{ value: 'x' }])).baseOffset).toBe(5n);
      await again.close();
    } finally {
      t.cleanup();
    }
  });
});
