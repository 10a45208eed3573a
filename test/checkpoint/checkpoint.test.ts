import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpoint, readProgress } from '../../src/checkpoint/checkpoint.js';
import { CorruptFileError } from '../../src/errors.js';

const fp = { sourcesHash: 's1', jobHash: 'j1' };
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

  it('names a corrupt or truncated log file instead of skipping it', () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    ck.commits.add(3, { batchId: 3, nextWatermarkMs: null, committedAt: 'x' });
    const file = join(dir, 'commits', '3');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"batchId":3', '"batchId":4'));
    expect(() => ck.commits.getLatest()).toThrow(CorruptFileError);
    expect(() => ck.commits.getLatest()).toThrow(/commits\/3: checksum mismatch/);
    writeFileSync(file, 'v1\n{"batchId":3');
    expect(() => ck.commits.get(3)).toThrow(/commits\/3: truncated file/);
    ck.close();
  });

  it('refuses a job with other sources, accepts a changed query with a note', () => {
    Checkpoint.open(dir, { jobName: 'j', fingerprint: fp }).close();
    expect(() => Checkpoint.open(dir, { jobName: 'j', fingerprint: { sourcesHash: 's2', jobHash: 'j1' } })).toThrow(/belongs to a job with other sources[\s\S]*fix: run with a new --checkpoint/);
    const notes: string[] = [];
    Checkpoint.open(dir, { jobName: 'j', fingerprint: { sourcesHash: 's1', jobHash: 'j2' }, onNote: (n) => notes.push(n) }).close();
    expect(notes).toHaveLength(1);
  });

  it('purges old entries and stray temp files', () => {
    const ck = Checkpoint.open(dir, { jobName: 'j', fingerprint: fp });
    for (let i = 0; i < 5; i++) {
      ck.offsets.add(i, { batchId: i, batchTime: i, watermarkMs: null, jobHash: 'j1', sources: {} });
      ck.commits.add(i, { batchId: i, nextWatermarkMs: null, committedAt: 'x' });
    }
    writeFileSync(join(dir, 'offsets', '.7.123.tmp'), 'partial');
    ck.purge(2);
    expect(readdirSync(join(dir, 'offsets')).sort()).toEqual(['3', '4']);
    expect(ck.commits.batchIds()).toEqual([3, 4]);
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
