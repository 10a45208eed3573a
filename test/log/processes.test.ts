import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLog, openLog } from '../../src/log/index.js';
import { DIST_LOG_INDEX, ROOT, ensureDist } from './build.js';
import { tempDir, text } from './helpers.js';

const CHILD = join(ROOT, 'test/log/fixtures/append-child.mjs');
const expectedValue = (i: number): string => `child-${i}-${'x'.repeat(i % 97)}`;

const t = tempDir();
beforeAll(async () => {
  await ensureDist();
});
afterAll(() => t.cleanup());

function startChild(dir: string, batches: number, batchSize: number, hold = false): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CHILD, DIST_LOG_INDEX, dir, '0', String(batches), String(batchSize), ...(hold ? ['hold'] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

function lineFrom(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    child.on('exit', () => reject(new Error(`child exited before printing a line (${buf})`)));
  });
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe('a reader while another process appends', () => {
  it('sees only whole records with contiguous offsets and the values the child wrote', async () => {
    const dir = join(t.dir, 'concurrent');
    await (await createLog(dir, { partitions: 1, segmentBytes: 32 * 1024, indexIntervalBytes: 512 })).close();
    const reader = await openLog(dir);
    const batches = 300;
    const batchSize = 37;
    const { exited } = startChild(dir, batches, batchSize);
    let done = false;
    void exited.then(() => (done = true));
    let seen = 0;
    const observedEnds = new Set<number>();
    for (;;) {
      const finished = done; // read once more after the child is gone
      const end = Number(reader.endOffset(0));
      observedEnds.add(end);
      if (end > seen) {
        const b = reader.read(0, BigInt(seen), BigInt(end));
        expect(b.count).toBe(end - seen);
        for (let i = 0; i < b.count; i++) {
          const o = seen + i;
          if (b.offsets[i] !== BigInt(o) || text(b.values[i]) !== expectedValue(o) || text(b.keys[i]) !== String(o) || b.timestamps[i] !== o) {
            throw new Error(`offset ${o}: got ${b.offsets[i]} ${text(b.values[i])}`);
          }
        }
        seen = end;
      }
      if (finished) break;
      await tick();
    }
    expect(await exited).toBe(0);
    expect(seen).toBe(batches * batchSize);
    expect(observedEnds.size).toBeGreaterThan(2); // the reads really interleaved with the appends
    expect(reader.describe()[0]!.segments).toBeGreaterThan(5);
  });

  it('after the appender is killed mid-stream, the log is a whole prefix and appending resumes at its end', async () => {
    const dir = join(t.dir, 'killed');
    await (await createLog(dir, { partitions: 1, segmentBytes: 64 * 1024 })).close();
    const { child, exited } = startChild(dir, 100_000, 50);
    let gone = false;
    void exited.then(() => (gone = true));
    const reader = await openLog(dir);
    while (reader.endOffset(0) < 2000n && !gone) await tick();
    expect(gone).toBe(false);
    child.kill('SIGKILL');
    await exited;
    const end = Number(reader.endOffset(0));
    expect(end).toBeGreaterThanOrEqual(2000);
    const b = reader.read(0, 0n, BigInt(end));
    for (let i = 0; i < end; i++) if (text(b.values[i]) !== expectedValue(i)) throw new Error(`offset ${i}`);
    // the dead child's lock is stale: a new appender takes it over and continues the offsets
    const appender = await openLog(dir);
    expect(await appender.append(0, [{ value: 'after' }])).toEqual({ baseOffset: BigInt(end), count: 1 });
    await appender.close();
    expect(text(reader.read(0, BigInt(end), BigInt(end + 1)).values[0])).toBe('after');
  });
});

describe('one appender per partition', () => {
  it('refuses a second appender while the first process lives, and takes over once it is dead', async () => {
    const dir = join(t.dir, 'locked');
    await (await createLog(dir, { partitions: 2 })).close();
    const { child, exited } = startChild(dir, 1, 3, true);
    expect(await lineFrom(child)).toBe('ready');
    const log = await openLog(dir);
    await expect(log.append(0, [{ value: 'x' }])).rejects.toThrow(new RegExp(`already being appended to by process ${child.pid}`));
    expect(await log.append(1, [{ value: 'other partition is free' }])).toEqual({ baseOffset: 0n, count: 1 });
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(dir, '0', 'append.lock'))).toBe(true); // left behind by the killed process
    expect(await log.append(0, [{ value: 'x' }])).toEqual({ baseOffset: 3n, count: 1 });
    const lock = JSON.parse(readFileSync(join(dir, '0', 'append.lock'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    await log.close();
    expect(existsSync(join(dir, '0', 'append.lock'))).toBe(false);
  });

  it('releases the lock on a clean close so another process can append', async () => {
    const dir = join(t.dir, 'released');
    await (await createLog(dir, { partitions: 1 })).close();
    const first = startChild(dir, 2, 5);
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dir, '0', 'append.lock'))).toBe(false);
    const second = startChild(dir, 2, 5);
    expect(await second.exited).toBe(0);
    const log = await openLog(dir);
    expect(log.endOffset(0)).toBe(20n);
    expect(log.read(0, 0n, 20n).values.map(text)).toEqual(Array.from({ length: 20 }, (_, i) => expectedValue(i)));
  });

  it('refuses a second handle in the same process; takes over a lock left by a dead pid', async () => {
    const dir = join(t.dir, 'same-process');
    const a = await createLog(dir, { partitions: 1 });
    await a.append(0, [{ value: '1' }]);
    const b = await openLog(dir);
    await expect(b.append(0, [{ value: '2' }])).rejects.toThrow(/already being appended to by this process/);
    await a.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    writeFileSync(join(dir, '0', 'append.lock'), JSON.stringify({ pid: deadPid, host: (await import('node:os')).hostname(), token: 'x', since: 'then' }));
    expect(await b.append(0, [{ value: '2' }])).toEqual({ baseOffset: 1n, count: 1 });
    await b.close();
  });
});
