/** appendFramed (records framed by the producer) and the CRC-32C the log computes per record. */
import { crc32c } from '@node-rs/crc32';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CrcRun, crc32cRange } from '../../src/log/crc32c.js';
import { encodeBatch } from '../../src/log/record-codec.js';
import { createLog, frameKeylessRecord, openLog, HEADERLESS_TRAILER, KEYLESS_VALUE_START, type FramedRecords } from '../../src/log/index.js';
import { tempDir, text } from './helpers.js';

const dirs: (() => void)[] = [];
afterEach(() => dirs.splice(0).forEach((c) => c()));
function fresh(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return join(t.dir, 'events');
}

/** Frame `values` back to back as a producer writing into its own buffer would. */
function frame(values: readonly string[], timestamp: number): FramedRecords & { bytes: Buffer } {
  const bytes = Buffer.alloc(values.reduce((n, v) => n + KEYLESS_VALUE_START + Buffer.byteLength(v) + HEADERLESS_TRAILER, 0));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  let p = 0;
  for (const v of values) {
    starts.push(p);
    const valueEnd = p + KEYLESS_VALUE_START + bytes.write(v, p + KEYLESS_VALUE_START);
    p = frameKeylessRecord(dv, p, valueEnd, timestamp);
  }
  return { bytes, starts, count: values.length };
}

describe('appendFramed', () => {
  it('stores framed records byte for byte as append() would, with offsets continuing', async () => {
    const framedDir = fresh();
    const plainDir = `${framedDir}-plain`; // in the same temp dir, removed with it
    const a = await createLog(framedDir, { partitions: 1 });
    const b = await createLog(plainDir, { partitions: 1 });
    const values = ['{"a":1}', '', 'ünïcode ✓', 'x'.repeat(700)];
    expect(await a.append(0, [{ value: 'first', timestamp: 7 }])).toEqual({ baseOffset: 0n, count: 1 });
    expect(await a.appendFramed(0, frame(values, 1234.5))).toEqual({ baseOffset: 1n, count: 4 });
    await b.append(0, [{ value: 'first', timestamp: 7 }, ...values.map((value) => ({ value, timestamp: 1234.5 }))]);
    await a.close();
    await b.close();
    const segment = '0/00000000000000000000.log';
    expect(readFileSync(join(framedDir, segment)).equals(readFileSync(join(plainDir, segment)))).toBe(true);
    const r = (await openLog(framedDir)).read(0, 0n, 5n);
    expect(r.values.map(text)).toEqual(['first', ...values]);
    expect(r.keys).toEqual([null, null, null, null, null]);
    expect([...r.timestamps]).toEqual([7, 1234.5, 1234.5, 1234.5, 1234.5]);
    expect(r.headers).toEqual([null, null, null, null, null]);
  });

  it('refuses records that are not framed back to back, and writes nothing', async () => {
    const log = await createLog(fresh(), { partitions: 1 });
    const ok = frame(['one', 'two'], 1);
    await expect(log.appendFramed(0, { ...ok, starts: [0, 5] })).rejects.toThrow(/record 1 starts at byte 5, expected 39/);
    await expect(log.appendFramed(0, { ...ok, bytes: Buffer.concat([ok.bytes, Buffer.alloc(3)]) })).rejects.toThrow(/record 1 ends at byte 78 of 81/);
    const damaged = frame(['one'], 1);
    damaged.bytes.writeInt32LE(99, 28); // the value length no longer fits the record length
    await expect(log.appendFramed(0, damaged)).rejects.toThrow(/record 0 has fields that do not fit its length/);
    expect(log.endOffset(0)).toBe(0n);
    expect(await log.appendFramed(0, { bytes: Buffer.alloc(0), starts: [], count: 0 })).toEqual({ baseOffset: 0n, count: 0 });
    expect(await log.appendFramed(0, ok)).toEqual({ baseOffset: 0n, count: 2 });
    expect(log.read(0, 0n, 2n).values.map(text)).toEqual(['one', 'two']);
    await log.close();
  });
});

describe('crc32cRange', () => {
  it('equals the native CRC-32C for every length and alignment, on both sides of the native threshold', () => {
    const buf = Buffer.alloc(3000);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919 + (i >> 3)) & 255;
    for (const start of [0, 1, 2, 3, 5, 8]) {
      for (let len = 0; len < 1100; len += len < 40 ? 1 : 37) {
        expect(crc32cRange(buf, start, start + len), `start ${start} length ${len}`).toBe(crc32c(buf.subarray(start, start + len)) >>> 0);
      }
    }
    // a view into a larger buffer, as the reader's chunks are
    const view = new Uint8Array(buf.buffer, buf.byteOffset + 13, 500);
    expect(crc32cRange(view, 7, 300)).toBe(crc32c(Buffer.from(view.subarray(7, 300))) >>> 0);
  });
});

describe('CrcRun', () => {
  it('accepts intact records and notices a flipped bit anywhere a record CRC covers (or in a stored CRC)', () => {
    const records = Array.from({ length: 12 }, (_, i) => ({ key: i % 2 ? `k${i}` : null, value: 'v'.repeat(i * 61), timestamp: i }));
    const { bytes, starts } = encodeBatch(records, 100, 0);
    const check = () => {
      const run = new CrcRun();
      for (let i = 0; i < starts.length; i++) run.add(bytes, starts[i]!, i + 1 < starts.length ? starts[i + 1]! : bytes.length);
      return run.matches(bytes);
    };
    expect(check()).toBe(true);
    const lengthFields = new Set([...starts].flatMap((s) => [s, s + 1, s + 2, s + 3]));
    let missed = 0;
    for (let at = 0; at < bytes.length; at++) {
      if (lengthFields.has(at)) continue; // the length is not under the CRC: structure checks catch it
      bytes[at]! ^= 1 << (at % 8);
      if (check()) missed++;
      bytes[at]! ^= 1 << (at % 8);
    }
    expect(missed).toBe(0);
    expect(new CrcRun().matches(bytes)).toBe(true);
  });
});
