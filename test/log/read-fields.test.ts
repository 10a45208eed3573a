import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLog, openLog } from '../../src/log/index.js';
import { crc32cRange } from '../../src/log/crc32c.js';
import { listSegments } from '../../src/log/segment-files.js';
import { tempDir, text } from './helpers.js';

/*
 * The reader's header pass (record-columns.ts `add`, partition-reader.ts `collect`) reads lengths through a
 * DataView over 1 MiB chunks: records whose CRC is right but whose fields do not fit are still refused at the
 * right byte, and records of every size come back whole across chunk boundaries.
 */

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function logWith(values: readonly string[]): Promise<{ dir: string; file: string }> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const dir = join(t.dir, 'fields');
  const log = await createLog(dir, { partitions: 1 });
  await log.append(
    0,
    values.map((value, i) => ({ key: `k${i}`, value, headers: [['h', `x${i}`]] })),
  );
  await log.close();
  return { dir, file: listSegments(join(dir, '0')).at(-1)!.logFile };
}

const RECORD = 36 + 2 + 2 + (2 + 1 + 4 + 2); // overhead + key + value + header, for i < 10

/** Rewrites the int32 at `at` in record `index` (of RECORD bytes each) and fixes the record's CRC. */
function damage(file: string, index: number, at: number, v: number): void {
  const bytes = readFileSync(file);
  const start = index * RECORD;
  bytes.writeInt32LE(v, start + at);
  bytes.writeUInt32LE(crc32cRange(bytes, start + 8, start + RECORD), start + 4);
  writeFileSync(file, bytes);
}

describe('records whose checksum is right but whose fields do not fit', () => {
  const cases: [string, number, number][] = [
    ['a key length below -1', 24, -2],
    ['a key length past the record', 24, 40],
    ['a value length below -1', 24 + 4 + 2, -5],
    ['a value length past the record', 24 + 4 + 2, 100],
    ['a header count too large', 24 + 4 + 2 + 4 + 2, 2],
  ];
  for (const [what, at, v] of cases) {
    it(`are refused at their byte and offset: ${what}`, async () => {
      const { dir, file } = await logWith(Array.from({ length: 10 }, (_, i) => `v${i}`));
      damage(file, 6, at, v);
      const log = await openLog(dir);
      expect(log.endOffset(0)).toBe(10n);
      expect(text(log.read(0, 0n, 6n).values[5]!)).toBe('v5');
      expect(() => log.read(0, 0n, 10n)).toThrow(`record fields do not fit its length at byte ${6 * RECORD} (offset 6)`);
    });
  }
});

describe('records across chunk boundaries', () => {
  it('come back whole, with their keys, headers and offsets, whatever their sizes', async () => {
    // sizes from a few bytes to past one chunk, so that record boundaries fall everywhere in the 64 KiB–1 MiB chunks
    const values = Array.from({ length: 400 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(i % 50 === 7 ? 1_200_000 + i : (i * 7919) % 20_000));
    const { dir } = await logWith(values);
    const log = await openLog(dir);
    for (const [from, until] of [
      [0, 400],
      [1, 399],
      [137, 138],
      [200, 400],
    ] as const) {
      const c = log.readColumns(0, BigInt(from), BigInt(until));
      expect(c.count).toBe(until - from);
      for (let i = 0; i < c.count; i++) {
        const chunk = c.chunks[c.chunkOf[i]!]!;
        const at = (start: number, length: number) => Buffer.from(chunk.subarray(start, start + length)).toString();
        expect(at(c.keyStart[i]!, c.keyLength[i]!)).toBe(`k${from + i}`);
        expect(at(c.valueStart[i]!, c.valueLength[i]!)).toBe(values[from + i]);
        expect(c.offsets[i]).toBe(BigInt(from + i));
        expect(text(c.headers.get(i)![0]![1])).toBe(`x${from + i}`);
      }
    }
  });
});
