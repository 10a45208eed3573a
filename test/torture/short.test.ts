import { describe, expect, it } from 'vitest';
import { badInput } from './bad-input.js';
import { corruptionMatrix, REBUILD_ALL, TARGETS } from './corruption-matrix.js';
import { canMount, diskFull } from './disk-full.js';
import { killStorm } from './kill-storm.js';

/** The torture suite's short version; the full one is `npm run torture` (docs/reliability.md). */
describe('torture (short)', () => {
  it('8 SIGKILLs while another process appends: every sink exact', async () => {
    await killStorm({ kills: 8, maxBatchesPerRun: 3, maxDelayMs: 100, seed: 21 });
  }, 180_000);

  it('each checkpoint file kind damaged once, and a lost state file: refused naming the file, or harmless', async () => {
    const outcomes = await corruptionMatrix([
      ...TARGETS.map((target, i) => ({ target, damage: i % 2 ? ({ kind: 'flip', at: 0.5 } as const) : ({ kind: 'truncate', keep: 0.5 } as const) })),
      { target: 'state database', damage: { kind: 'delete' } },
      { target: 'state database', damage: { kind: 'delete' }, args: REBUILD_ALL },
    ]);
    // Damaged checkpoint files are refused, and so is a lost state file, which --rebuild-state then recomputes
    // exactly; a damaged manifest entry is harmless (readers glob the data files).
    expect(outcomes.map((o) => o.result)).toEqual(['refused', 'refused', 'refused', 'refused', 'harmless', 'refused', 'harmless']);
  }, 180_000);

  // Mounting a tmpfs needs root. CI runs as root (and there a skip would be a failure); elsewhere it is skipped, saying why.
  const mounts = canMount() || process.env['CI'] === 'true';
  (mounts ? it : it.skip)(
    `disk full in the middle of a run: a clear error naming the path, then an exact resume${mounts ? '' : ' (skipped: needs root to mount a tmpfs; run the tests as root, as CI does)'}`,
    async () => {
      await diskFull(6144, 60_000);
    },
    180_000,
  );

  it('18 classes of bad input: each dead-lettered with its coordinates, rows + dead letters = records', async () => {
    const f = await badInput();
    expect(f).toMatchObject({ classes: 18, records: 218, rows: 200, deadLetters: 18 });
  }, 60_000);
});
