import { describe, expect, it } from 'vitest';
import { badInput } from './bad-input.js';
import { corruptionMatrix, fullMatrix } from './corruption-matrix.js';
import { canMount, diskFull } from './disk-full.js';
import { killStorm } from './kill-storm.js';
import { report } from './harness.js';

/** `npm run torture`: the figures it prints go to docs/reliability.md. */
describe('torture', () => {
  it('200 SIGKILLs over more than 1,000 batches while another process appends: every sink exact', async () => {
    const f = await killStorm({ kills: 200, maxBatchesPerRun: 10, maxDelayMs: 100, seed: 2026 });
    expect(f.batches).toBeGreaterThanOrEqual(1000);
  });

  it('every checkpoint and manifest file truncated and bit-flipped: refused naming the file, or harmless', async () => {
    const outcomes = await corruptionMatrix(fullMatrix());
    for (const o of outcomes) report('corruption-case', { target: `'${o.target}'`, damage: `'${o.damage}'`, result: o.result });
  });

  it('disk full in the middle of a run, three sizes: a clear error naming the path, then an exact resume', async () => {
    expect(canMount(), 'the disk-full scenario mounts a tmpfs: run the torture suite as root').toBe(true);
    for (const kib of [6144, 7168, 10240]) await diskFull(kib, 60_000);
  });

  it('a corpus of 18 classes of bad input: each dead-lettered with its coordinates and a reason', async () => {
    const f = await badInput();
    for (const [cls, reason] of Object.entries(f.reasons)) report('bad-input-class', { class: `'${cls}'`, reason: `'${reason}'` });
  });
});
