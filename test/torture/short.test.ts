import { describe, it } from 'vitest';
import { killStorm } from './kill-storm.js';

/** The torture suite's short version (the full one is `npm run torture`, see docs/reliability.md). */
describe('torture (short)', () => {
  it('8 SIGKILLs while another process appends: every sink exact', async () => {
    await killStorm({ kills: 8, maxBatchesPerRun: 3, maxDelayMs: 100, seed: 21 });
  }, 180_000);
});
