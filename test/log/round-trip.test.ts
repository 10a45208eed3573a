import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { createLog, openLog, type AppendRecord } from '../../src/log/index.js';
import { DuckstreamError } from '../../src/errors.js';
import { tempDir, text } from './helpers.js';

const dirs: (() => void)[] = [];
afterEach(() => dirs.splice(0).forEach((c) => c()));
function fresh(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return join(t.dir, 'orders');
}

describe('embedded log round trip', () => {
  it('returns keys, null values, headers and timestamps exactly as appended', async () => {
    const dir = fresh();
    const log = await createLog(dir, { partitions: 2 });
    expect(log.topic).toBe('orders');
    expect(log.partitionCount()).toBe(2);
    const records: AppendRecord[] = [
      { key: 'k1', value: '{"a":1}', timestamp: 1_700_000_000_123 },
      { key: null, value: null, timestamp: 5 },
      {
        value: new Uint8Array([0, 1, 2, 255]),
        timestamp: 1.5,
        headers: [
          ['h1', 'v1'],
          ['empty', new Uint8Array(0)],
          ['ünï', 'ç'],
        ],
      },
      { key: new Uint8Array(0), value: '', timestamp: 0 },
    ];
    expect(await log.append(1, records)).toEqual({ baseOffset: 0n, count: 4 });
    expect(await log.append(1, [{ value: 'x', timestamp: 9 }])).toEqual({ baseOffset: 4n, count: 1 });
    expect(log.endOffset(1)).toBe(5n);
    expect(log.endOffset(0)).toBe(0n);
    const b = log.read(1, 0n, 5n);
    expect(b.topic).toBe('orders');
    expect(b.partition).toBe(1);
    expect(b.count).toBe(5);
    expect([...b.offsets]).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect([...b.timestamps]).toEqual([1_700_000_000_123, 5, 1.5, 0, 9]);
    expect(b.keys.map(text)).toEqual(['k1', null, null, '', null]);
    expect(b.values.map(text)).toEqual(['{"a":1}', null, '\u0000\u0001\u0002\ufffd', '', 'x']);
    expect([...b.values[2]!]).toEqual([0, 1, 2, 255]);
    expect(b.headers[0]).toBeNull();
    expect(b.headers[2]!.map(([n, v]) => [n, text(v)])).toEqual([
      ['h1', 'v1'],
      ['empty', ''],
      ['ünï', 'ç'],
    ]);
    await log.close();
  });

  it('readColumns gives the same records as positions in the bytes read', async () => {
    const log = await createLog(fresh(), { partitions: 1, segmentBytes: 300 });
    const all = Array.from({ length: 40 }, (_, i) => ({
      key: i % 3 === 0 ? null : `k${i}`,
      value: i % 5 === 0 ? null : `value-${i}`,
      timestamp: i,
      headers: i % 7 === 0 ? [['n', String(i)] as const] : undefined,
    }));
    for (let i = 0; i < 40; i += 5) await log.append(0, all.slice(i, i + 5));
    const c = log.readColumns(0, 5n, 35n);
    expect(c.count).toBe(30);
    expect(c.chunks.length).toBeGreaterThan(1); // spans several segments
    const b = log.read(0, 5n, 35n);
    for (let i = 0; i < c.count; i++) {
      const o = i + 5;
      const chunk = c.chunks[c.chunkOf[i]!]!;
      const slice = (start: number, len: number) => (len < 0 ? null : Buffer.from(chunk.subarray(start, start + len)).toString());
      expect(slice(c.keyStart[i]!, c.keyLength[i]!)).toBe(o % 3 === 0 ? null : `k${o}`);
      expect(slice(c.valueStart[i]!, c.valueLength[i]!)).toBe(o % 5 === 0 ? null : `value-${o}`);
      expect(text(b.values[i])).toBe(o % 5 === 0 ? null : `value-${o}`);
      expect(c.offsets[i]).toBe(BigInt(o));
      expect(c.timestamps[i]).toBe(o);
      expect(c.headers.get(i)?.map(([n, v]) => `${n}=${text(v)}`)).toEqual(o % 7 === 0 ? [`n=${o}`] : undefined);
    }
    await log.close();
  });

  it('defaults the timestamp to the append time', async () => {
    const log = await createLog(fresh(), { partitions: 1 });
    const before = Date.now();
    await log.append(0, [{ value: 'a' }]);
    const ts = log.read(0, 0n, 1n).timestamps[0]!;
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
    await log.close();
  });

  it('reads exact sub-ranges, and an empty range', async () => {
    const log = await createLog(fresh(), { partitions: 1 });
    await log.append(
      0,
      Array.from({ length: 100 }, (_, i) => ({ value: `v${i}` })),
    );
    const b = log.read(0, 37n, 42n);
    expect([...b.offsets]).toEqual([37n, 38n, 39n, 40n, 41n]);
    expect(b.values.map(text)).toEqual(['v37', 'v38', 'v39', 'v40', 'v41']);
    expect(log.read(0, 100n, 100n).count).toBe(0);
    expect(log.read(0, 50n, 50n).count).toBe(0);
    await log.close();
  });

  it('refuses ranges outside the partition and unknown partitions with user errors', async () => {
    const log = await createLog(fresh(), { partitions: 1 });
    await log.append(0, [{ value: 'a' }, { value: 'b' }]);
    expect(() => log.read(0, 0n, 3n)).toThrow(/ends at 2/);
    expect(() => log.read(0, -1n, 1n)).toThrow(/starts at 0/);
    expect(() => log.read(0, 5n, 5n)).toThrow(/ends at 2/);
    expect(() => log.read(1, 0n, 0n)).toThrow(/no partition 1/);
    try {
      log.read(0, 0n, 3n);
    } catch (err) {
      expect(err).toBeInstanceOf(DuckstreamError);
      expect((err as DuckstreamError).domain).toBe('user');
    }
    await expect(log.append(3, [{ value: 'x' }])).rejects.toThrow(/no partition 3/);
    await log.close();
  });

  it('persists across reopen and continues offsets', async () => {
    const dir = fresh();
    const log = await createLog(dir, { partitions: 1 });
    await log.append(0, [{ value: 'a' }, { value: 'b' }]);
    await log.close();
    const again = await openLog(dir);
    expect(again.endOffset(0)).toBe(2n);
    expect(await again.append(0, [{ value: 'c' }])).toEqual({ baseOffset: 2n, count: 1 });
    expect(again.read(0, 0n, 3n).values.map(text)).toEqual(['a', 'b', 'c']);
    await again.close();
  });

  it('refuses to create over an existing log and to open a non-log, with the fix', async () => {
    const dir = fresh();
    await (await createLog(dir, { partitions: 1 })).close();
    await expect(createLog(dir, { partitions: 1 })).rejects.toThrow(/already a log/);
    await expect(openLog(join(dir, 'nope'))).rejects.toThrow(/duckstream log create .* --partitions N/);
    await expect(createLog(fresh(), { partitions: 0 })).rejects.toThrow(/partitions must be/);
  });

  it('adds partitions, seen by another handle', async () => {
    const dir = fresh();
    const a = await createLog(dir, { partitions: 2 });
    const b = await openLog(dir);
    await a.addPartitions(4);
    await a.addPartitions(3); // never shrinks
    expect(b.partitionCount()).toBe(4);
    await b.append(3, [{ value: 'p3' }]);
    expect(text(a.read(3, 0n, 1n).values[0])).toBe('p3');
    expect(existsSync(join(dir, '3'))).toBe(true);
    expect(a.describe().map((d) => [d.partition, d.endOffset])).toEqual([
      [0, 0n],
      [1, 0n],
      [2, 0n],
      [3, 1n],
    ]);
    await a.close();
    await b.close();
  });

  it('names segment files by their 20-digit base offset', async () => {
    const dir = fresh();
    const log = await createLog(dir, { partitions: 1, segmentBytes: 100 });
    for (let i = 0; i < 3; i++) await log.append(0, [{ value: 'x'.repeat(70) }]);
    expect(
      readdirSync(join(dir, '0'))
        .filter((f) => f.endsWith('.log'))
        .sort(),
    ).toEqual(['00000000000000000000.log', '00000000000000000001.log', '00000000000000000002.log']);
    const d = log.describe()[0]!;
    expect(d).toMatchObject({ partition: 0, startOffset: 0n, endOffset: 3n, segments: 3 });
    expect(d.bytes).toBe(3 * (36 + 70));
    await log.close();
  });
});
