import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { createLog } from '../../src/log/index.js';
import { duckstream, duckstreamBackground, progressCount } from '../support/cli.js';
import { batchesRun, events, expectExactOutput, PARTITIONS, recoveredBatches, report, startAppender, writeJob } from './harness.js';

export interface KillStormOptions {
  readonly kills: number;
  /** Each restarted driver runs 1 to this many batches (chosen at random) before the random moment of its SIGKILL. */
  readonly maxBatchesPerRun: number;
  /** Upper bound of the random wait after those batches, before the SIGKILL. */
  readonly maxDelayMs: number;
  readonly seed: number;
}

/**
 * SIGKILL a real `duckstream run` `kills` times at random moments while another process keeps appending, restart
 * it each time, then let it finish: every sink must equal one DuckDB query over what was appended.
 */
export async function killStorm(o: KillStormOptions): Promise<{ kills: number; batches: number; records: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-torture-kill-'));
  const started = Date.now();
  try {
    const rand = prng(o.seed);
    // Enough input that the appender is still appending when the last kill lands: about 120 records/s are appended
    // (a little more than a driver restarted every few batches takes in), for 25 s per kill, and a 200-kill run on a
    // loaded machine takes about 10 s per kill.
    const lines = events(Math.max(20_000, o.kills * 3000), o.seed);
    await (await createLog(join(dir, 'log'), { partitions: PARTITIONS })).close();
    const out = join(dir, 'out');
    const ck = join(dir, 'ck');
    const job = writeJob(dir, out);
    const appender = startAppender(dir, lines, 3, 50);
    const args = ['run', job, '--checkpoint', ck, '--trigger', '20ms', '--max-records-per-partition', '20'];
    let log = '';
    for (let round = 0; round < o.kills; round++) {
      const before = progressCount(ck);
      const child = duckstreamBackground(args);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const batches = 1 + Math.floor(rand() * o.maxBatchesPerRun);
      const deadline = Date.now() + 30_000;
      while (progressCount(ck) < before + batches && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.floor(rand() * o.maxDelayMs)));
      if (child.exitCode !== null) throw new Error(`round ${round}: duckstream exited (${child.exitCode}) before it was killed:\n${log}${stderr}`);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      log += `round ${round}: progress ${before} → ${progressCount(ck)}${stderr.trim() ? `; stderr: ${stderr.trim()}` : ''}\n`;
    }
    const appending = appender.child.exitCode === null;
    expect(appending, 'the appender was still appending during the last kill').toBe(true);
    const appended = await appender.appended();
    const finish = duckstream(['run', job, '--checkpoint', ck, '--trigger', 'available-now', '--drain', '--max-records-per-partition', '5000']);
    expect(finish.status, `${log.slice(-4000)}\nfinish: ${finish.stderr}`).toBe(0);
    await expectExactOutput(out, lines.slice(0, appended), `after ${o.kills} kills`);
    const figures = { kills: o.kills, batches: batchesRun(ck), records: appended, recovered: recoveredBatches(ck) };
    // Most kills land inside a batch: those batches are re-run from their offset entries.
    expect(figures.recovered).toBeGreaterThan(0);
    report('kill-storm', { ...figures, seconds: Math.round((Date.now() - started) / 1000) });
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
