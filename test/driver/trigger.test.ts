import { describe, expect, it } from 'vitest';
import { nextTick } from '../../src/driver/trigger.js';

describe('interval trigger', () => {
  it('waits for the next tick after a batch that fit in its interval', () => {
    expect(nextTick(1000, 1030, 100)).toBe(1100);
    expect(nextTick(1000, 1000, 100)).toBe(1100);
  });

  it('starts the next batch at once after one that overran, with the last passed tick as its batch time', () => {
    // Ran 150 ms of a 100 ms interval: the tick at 1100 has passed, so the next batch starts now (no sleep to 1200).
    expect(nextTick(1000, 1150, 100)).toBe(1100);
    expect(nextTick(1000, 1100, 100)).toBe(1100);
    // Ran 3.5 intervals: ticks 1100 and 1200 are skipped, 1300 is the batch time, still in the past.
    expect(nextTick(1000, 1350, 100)).toBe(1300);
  });
});
