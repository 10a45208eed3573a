import { readVersioned } from '../../src/checkpoint/versioned-file.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpoint, readProgress } from '../../src/checkpoint/checkpoint.js';
import { CorruptFileError } from '../../src/errors.js';

const fp = { sourcesHash: 's1', jobHash: 'j1' };
const mkdirs = (d: string): string => {
  mkdirSync(d, { recursive: true });
  return d;
};
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ds-ckpt-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('Checkpoint', () => {
  it('logs offsets and commits per batch and finds the batch pending recovery', () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    const entry = { batchId: 0, batchTime: 1000, watermarkMs: null, jobHash: 'j1', sources: { s: [{ topic: 't', partition: 0, from: '0', until: '5' }] } };
    expect(ck.offsets.add(0, entry)).toBe(true);
    expect(ck.offsets.add(0, entry)).toBe(false);
    expect(ck.pendingBatch()).toEqual({ batchId: 0, entry });
    ck.commits.add(0, { batchId: 0, nextWatermarkMs: null, committedAt: 'x' });
    expect(ck.pendingBatch()).toBeUndefined();
    expect(readFileSync(join(dir, 'offsets', '0'), 'utf8')).toMatch(/^v1\n\{.*\}\ncrc32c:[0-9a-f]{8}\n$/);
    ck.close();
  });

  it('refuses a second driver on the same checkpoint while the first holds it', () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    expect(() => Checkpoint.open(dir, { jobName: 'j', fingerprint: fp })).toThrow(/checkpoint is in use: .*lock is held by process \d+/);
    ck.close();
    Checkpoint.open(dir, { jobName: 'j', fingerprint: fp }).close();
  });

  it('takes over the lock of a process that is gone', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: Number(dead), host: hostname(), token: 'x', since: 'then' }));
    Checkpoint.open(dir, { jobName: 'j', fingerprint: fp }).close();
  });

  it('the next lock holder removes the temp files a killed driver left, and only those', () => {
    Checkpoint.open(dir, { jobName: 'j', fingerprint: fp }).close();
    const litter = [
      'state-snapshot.duckdb.21083.tmp',
      'state-snapshot.duckdb.21083.tmp.wal',
      '.metadata.json.21083.tmp',
      join('offsets', '.3.21083.tmp'),
      join('commits', '.3.21083.tmp'),
    ];
    for (const f of litter) writeFileSync(join(dir, f), 'half-written');
    writeFileSync(join(dir, 'notes.txt'), 'a file of the user');
    const before = readdirSync(dir)
      .filter((f) => !litter.includes(f))
      .sort();
    Checkpoint.open(dir, { jobName: 'j', fingerprint: fp }).close();
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readdirSync(join(dir, 'offsets'))).toEqual([]);
    expect(readdirSync(join(dir, 'commits'))).toEqual([]);
  });

  it('names a corrupt or truncated log file instead of skipping it (read when the checkpoint is opened again)', () => {
    let ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    ck.commits.add(2, { batchId: 2, nextWatermarkMs: null, committedAt: 'x' });
    ck.commits.add(3, { batchId: 3, nextWatermarkMs: null, committedAt: 'x' });
    ck.close();
    const file = join(dir, 'commits', '3');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"batchId":3', '"batchId":4'));
    ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    expect(() => ck.commits.getLatest()).toThrow(CorruptFileError);
    expect(() => ck.commits.getLatest()).toThrow(/commits\/3: checksum mismatch/);
    ck.close();
    writeFileSync(join(dir, 'commits', '2'), 'v1\n{"batchId":2');
    ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    expect(() => ck.commits.get(2)).toThrow(/commits\/2: truncated file/);
    ck.close();
  });

  it('keeps its index in memory: the latest entry is what was written, without reading the directory again', () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    const entry = { batchId: 0, nextWatermarkMs: 5, committedAt: 'x' };
    ck.commits.add(0, entry);
    ck.commits.add(1, { ...entry, batchId: 1 });
    expect(ck.commits.getLatest()).toEqual({ batchId: 1, value: { ...entry, batchId: 1 } });
    expect(ck.commits.get(0)).toEqual(entry);
    expect(ck.commits.get(7)).toBeUndefined();
    expect(ck.commits.add(1, entry)).toBe(false);
    ck.close();
  });

  it('addAfter renames the entry in only once `before` resolved; a rejected `before` leaves no entry', async () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    const entry = { batchId: 0, nextWatermarkMs: null, committedAt: 'x' };
    await expect(ck.commits.addAfter(0, entry, Promise.reject(new Error('sink failed')))).rejects.toThrow('sink failed');
    expect(ck.commits.getLatest()).toBeUndefined();
    expect(readdirSync(join(dir, 'commits')).filter((n) => !n.startsWith('.'))).toEqual([]);
    let released = false;
    const added = ck.commits.addAfter(0, entry, new Promise<void>((r) => setTimeout(() => ((released = true), r()), 20)));
    expect(await added).toBe(true);
    expect(released).toBe(true);
    expect(ck.commits.getLatest()).toEqual({ batchId: 0, value: entry });
    ck.close();
    // The stray temp file of the failed attempt is gone once the checkpoint is opened again.
    Checkpoint.open(dir, { jobName: 'j', fingerprint: fp }).close();
    expect(readdirSync(join(dir, 'commits'))).toEqual(['0']);
  });

  it('addDeferringDirSync puts the entry in place at once and reports when its directory is durable', async () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    const entry = { batchId: 0, batchTime: 1, watermarkMs: null, jobHash: 'j1', sources: {} };
    const { added, durable } = ck.offsets.addDeferringDirSync(0, entry);
    expect(added).toBe(true);
    expect(readdirSync(join(dir, 'offsets'))).toEqual(['0']);
    await durable;
    expect(ck.offsets.addDeferringDirSync(0, entry).added).toBe(false);
    ck.close();
  });

  it('writes the same files with fsync off (a process crash still sees whole entries)', () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp, fsync: false });
    expect(ck.fsync).toBe(false);
    ck.offsets.add(0, { batchId: 0, batchTime: 1, watermarkMs: null, jobHash: 'j1', sources: {} });
    ck.close();
    expect(readdirSync(join(dir, 'offsets'))).toEqual(['0']);
    const again = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    expect(again.pendingBatch()?.batchId).toBe(0);
    again.close();
  });

  it('refuses a job with other sources; a changed query is recorded, with a note, only once the start is accepted', () => {
    Checkpoint.open(dir, { jobName: 'j', fingerprint: fp }).close();
    expect(() => Checkpoint.open(dir, { jobName: 'j', fingerprint: { sourcesHash: 's2', jobHash: 'j1' } })).toThrow(
      /belongs to a job with other sources[\s\S]*fix: run with a new --checkpoint/,
    );
    const notes: string[] = [];
    const opened = Checkpoint.open(dir, { jobName: 'j', fingerprint: { sourcesHash: 's1', jobHash: 'j2' }, onNote: (n) => notes.push(n) });
    expect(notes).toHaveLength(0);
    expect(readVersioned<{ jobHash: string }>(join(dir, 'metadata.json')).jobHash).toBe('j1');
    opened.acceptJob();
    opened.close();
    expect(notes).toHaveLength(1);
    expect(readVersioned<{ jobHash: string }>(join(dir, 'metadata.json')).jobHash).toBe('j2');
  });

  it('purges old entries (in groups with `every`) and removes stray temp files when opened', async () => {
    writeFileSync(join(mkdirs(join(dir, 'offsets')), '.7.123.tmp'), 'partial');
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    expect(readdirSync(join(dir, 'offsets'))).toEqual([]);
    for (let i = 0; i < 5; i++) {
      ck.offsets.add(i, { batchId: i, batchTime: i, watermarkMs: null, jobHash: 'j1', sources: {} });
      ck.commits.add(i, { batchId: i, nextWatermarkMs: null, committedAt: 'x' });
    }
    ck.purge(2, 4); // 3 entries due, fewer than 4: nothing yet
    await ck.settled();
    expect(ck.offsets.batchIds()).toEqual([0, 1, 2, 3, 4]);
    ck.purge(2);
    await ck.settled();
    expect(readdirSync(join(dir, 'offsets')).sort()).toEqual(['3', '4']);
    expect(readdirSync(join(dir, 'commits')).sort()).toEqual(['3', '4']);
    expect(ck.commits.batchIds()).toEqual([3, 4]);
    expect(ck.offsets.oldestBatchId).toBe(3);
    ck.close();
  });

  it('reads progress records and reports a torn last line', () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    ck.appendProgress({ batchId: 0 });
    ck.appendProgress({ batchId: 1 });
    writeFileSync(join(dir, 'progress.ndjson'), readFileSync(join(dir, 'progress.ndjson'), 'utf8') + '{"batchI');
    expect(readProgress(dir)).toEqual({ records: [{ batchId: 0 }, { batchId: 1 }], tornTail: true });
    ck.close();
  });
});

function hostname(): string {
  return spawnSync('hostname').stdout.toString().trim() || 'localhost';
}
