import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLog, openLog } from '../../src/log/index.js';
import { CorruptFileError } from '../../src/errors.js';
import { listSegments } from '../../src/log/segment-files.js';
import { tempDir, text } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** A log with `n` records v0..v{n-1} in partition 0, closed; returns its dir and newest segment file. */
async function logWith(n: number, segmentBytes?: number): Promise<{ dir: string; file: string }> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const dir = join(t.dir, 'torn');
  const log = await createLog(dir, { partitions: 1, segmentBytes });
  for (let i = 0; i < n; i++) await log.append(0, [{ key: `k${i}`, value: `v${i}`, headers: [['h', `x${i}`]] }]);
  await log.close();
  return { dir, file: listSegments(join(dir, '0')).at(-1)!.logFile };
}

const RECORD = 36 + 2 + 2 + (2 + 1 + 4 + 2); // overhead + key + value + header (name length, "h", value length, value), for i < 10

describe('torn last record', () => {
  for (const cut of [1, 5, 20, RECORD - 1]) {
    it(`cutting ${cut} byte(s) off the last record hides it, and a reopened appender truncates it`, async () => {
      const { dir, file } = await logWith(10);
      const size = statSync(file).size;
      expect(size).toBe(10 * RECORD);
      truncateSync(file, size - cut);
      const reader = await openLog(dir);
      expect(reader.endOffset(0)).toBe(9n);
      expect(reader.read(0, 0n, 9n).values.map(text)).toEqual(Array.from({ length: 9 }, (_, i) => `v${i}`));
      expect(() => reader.read(0, 0n, 10n)).toThrow(/ends at 9/);

      const appender = await openLog(dir);
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on('warning', onWarning);
      expect(await appender.append(0, [{ value: 'new' }])).toEqual({ baseOffset: 9n, count: 1 });
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
      expect(warnings.join('\n')).toContain(`cut ${RECORD - cut} byte(s)`);
      await appender.close();
      expect(statSync(file).size).toBe(9 * RECORD + 36 + 3);
      expect(reader.endOffset(0)).toBe(10n);
      const all = reader.read(0, 0n, 10n);
      expect([...all.offsets]).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
      expect(text(all.values[9])).toBe('new');
    });
  }

  it('a last record failing its checksum is "not yet written"', async () => {
    const { dir, file } = await logWith(10);
    const bytes = readFileSync(file);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(file, bytes);
    const log = await openLog(dir);
    expect(log.endOffset(0)).toBe(9n);
    expect(log.read(0, 5n, 9n).count).toBe(4);
    expect((await log.append(0, [{ value: 'z' }])).baseOffset).toBe(9n);
    await log.close();
  });

  it('a zero-filled tail (size grew, data never landed) is "not yet written"', async () => {
    const { dir, file } = await logWith(5);
    appendFileSync(file, Buffer.alloc(300));
    const log = await openLog(dir);
    expect(log.endOffset(0)).toBe(5n);
    expect((await log.append(0, [{ value: 'z' }])).baseOffset).toBe(5n);
    expect(statSync(file).size).toBe(5 * RECORD + 37);
    await log.close();
  });

  it('a record whose length points past the end is "not yet written"', async () => {
    const { dir, file } = await logWith(3);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(5000, 0);
    appendFileSync(file, head);
    const log = await openLog(dir);
    expect(log.endOffset(0)).toBe(3n);
    await log.close();
  });
});

describe('corruption', () => {
  it('a checksum mismatch in a middle record throws CorruptFileError naming the file and offset', async () => {
    const { dir, file } = await logWith(10);
    const bytes = readFileSync(file);
    bytes[4 * RECORD + 40]! ^= 0x01; // inside record 4's key
    writeFileSync(file, bytes);
    const log = await openLog(dir);
    const err = (() => {
      try {
        log.read(0, 0n, 3n); // before the damage: fine
        log.read(0, 2n, 8n);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as CorruptFileError).file).toBe(file);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(`checksum mismatch at byte ${4 * RECORD} (offset 4)`);
    // the end of the partition cannot be known past the damage either (the same record is named), and an appender refuses to open
    expect(() => log.endOffset(0)).toThrow(`${file}: checksum mismatch at byte ${4 * RECORD} (offset 4)`);
    await expect(log.append(0, [{ value: 'x' }])).rejects.toThrow(CorruptFileError);
    await log.close();
  });

  it('reads check every record of older segments too: the first damaged record is named, before later damage', async () => {
    const { dir } = await logWith(10, 4 * RECORD); // segments of 4 records; only the newest is scanned for the end
    const segments = listSegments(join(dir, '0'));
    expect(segments.map((s) => s.base)).toEqual([0, 4, 8]);
    const file = segments[1]!.logFile;
    const bytes = readFileSync(file);
    bytes[RECORD + 40]! ^= 0x01; // record 5's key
    bytes.writeUInt32LE(0xffffffff, 3 * RECORD); // record 7's length: impossible
    writeFileSync(file, bytes);
    const log = await openLog(dir);
    expect(log.endOffset(0)).toBe(10n);
    expect(log.read(0, 0n, 5n).values.map(text)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(() => log.readColumns(0, 2n, 6n)).toThrow(`${file}: checksum mismatch at byte ${RECORD} (offset 5)`);
    expect(() => log.read(0, 5n, 6n)).toThrow(`${file}: checksum mismatch at byte ${RECORD} (offset 5)`);
    expect(() => log.read(0, 3n, 10n)).toThrow(`${file}: checksum mismatch at byte ${RECORD} (offset 5)`);
    expect(log.read(0, 8n, 10n).values.map(text)).toEqual(['v8', 'v9']);
  });

  it('a damaged last record of an older segment is corruption, not a torn tail', async () => {
    const { dir } = await logWith(6, 40);
    const segments = listSegments(join(dir, '0'));
    expect(segments.length).toBe(6);
    truncateSync(segments[2]!.logFile, RECORD - 4);
    const log = await openLog(dir);
    expect(log.endOffset(0)).toBe(6n);
    expect(log.read(0, 0n, 2n).count).toBe(2);
    expect(() => log.read(0, 1n, 5n)).toThrow(CorruptFileError);
    expect(() => log.read(0, 1n, 5n)).toThrow(segments[2]!.logFile);
  });

  it('a record carrying the wrong offset is corruption', async () => {
    const { dir, file } = await logWith(4);
    const bytes = readFileSync(file);
    const copy = Buffer.from(bytes.subarray(0, RECORD)); // record 0, valid checksum, offset 0
    copy.copy(bytes, 2 * RECORD); // replaces record 2
    writeFileSync(file, bytes);
    const log = await openLog(dir);
    expect(() => log.endOffset(0)).toThrow(/carries offset 0 where 2 was expected at byte 98/);
    expect(() => log.read(0, 0n, 1n)).toThrow(CorruptFileError);
  });

  it('a last record carrying the wrong offset and failing its checksum is "not yet written", as any torn last record', async () => {
    const { dir, file } = await logWith(4);
    const bytes = readFileSync(file);
    const copy = Buffer.from(bytes.subarray(0, RECORD)); // record 0: offset 0
    copy[RECORD - 2]! ^= 0xff; // and its checksum fails
    copy.copy(bytes, 3 * RECORD); // replaces record 3, the last one
    writeFileSync(file, bytes);
    const log = await openLog(dir);
    expect(log.endOffset(0)).toBe(3n);
    expect(log.read(0, 0n, 3n).values.map(text)).toEqual(['v0', 'v1', 'v2']);
  });

  it('a damaged log.json is named', async () => {
    const { dir } = await logWith(1);
    writeFileSync(join(dir, 'log.json'), '{"format": "duckstream-log", "vers');
    await expect(openLog(dir)).rejects.toThrow(join(dir, 'log.json'));
  });
});
