import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createLog } from '../../src/log/index.js';
import { duckstream, progressCount } from '../support/cli.js';
import { events, expectExactOutput, PARTITIONS, report, writeJob } from './harness.js';

/** Mounting a tmpfs needs root (CI runs as root); elsewhere the scenario says why it cannot run. */
export function canMount(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The job's checkpoint and outputs on a tmpfs of `sizeKiB`, too small for the run: it must stop with an error that
 * names a path on that filesystem, having committed some batches; after the tmpfs is grown, the same command
 * resumes and every sink is exact.
 */
export async function diskFull(sizeKiB: number, records: number): Promise<{ batchesBeforeFull: number; failedPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-torture-full-'));
  const fs = join(dir, 'fs');
  mkdirSync(fs);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', fs]);
  try {
    const lines = events(records, 41);
    const log = await createLog(join(dir, 'log'), { partitions: PARTITIONS });
    for (let p = 0; p < PARTITIONS; p++)
      await log.append(
        p,
        lines.filter((_, i) => i % PARTITIONS === p).map((value) => ({ value })),
      );
    await log.close();
    const out = join(fs, 'out');
    const ck = join(fs, 'ck');
    const job = writeJob(dir, out);
    const args = ['run', job, '--checkpoint', ck, '--trigger', 'available-now', '--drain', '--max-records-per-partition', '1000'];
    const full = duckstream(args);
    expect(full.status, `the run must fail on the full disk:\n${full.stderr}`).toBe(1);
    const named = /no space left on the filesystem holding (\/\S+):/.exec(full.stderr);
    expect(named?.[1], full.stderr).toBeDefined();
    expect(named![1]!.startsWith(fs + '/'), `${named![1]} is on ${fs}`).toBe(true);
    expect(full.stderr).toContain('fix: free space there');
    const batchesBeforeFull = progressCount(ck);
    expect(batchesBeforeFull, `the disk fills in the middle of the run:\n${full.stderr}`).toBeGreaterThan(0);

    execFileSync('mount', ['-o', 'remount,size=256m', fs]);
    const resumed = duckstream(args);
    expect(resumed.status, resumed.stderr).toBe(0);
    await expectExactOutput(out, lines, 'after the disk was freed');
    report('disk-full', { tmpfsKiB: sizeKiB, records, batchesBeforeFull, failedOn: named![1]!.slice(fs.length + 1) });
    return { batchesBeforeFull, failedPath: named![1]! };
  } finally {
    execFileSync('umount', ['-l', fs]);
    rmSync(dir, { recursive: true, force: true });
  }
}
