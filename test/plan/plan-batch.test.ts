import { describe, expect, it } from 'vitest';
import { planBatch } from '../../src/plan/plan-batch.js';

const m = (entries: Record<string, number>) => new Map(Object.entries(entries).map(([k, v]) => [k, BigInt(v)]));
const show = (ranges: { topic: string; partition: number; from: bigint; until: bigint }[]) =>
  ranges.map((r) => `${r.topic}:${r.partition} ${r.from}-${r.until}`);

describe('planBatch', () => {
  it('reads from the committed position to the latest offset of every partition', () => {
    const plan = planBatch(m({ 't:0': 10, 't:1': 5 }), m({ 't:0': 15, 't:1': 5 }), m({}));
    expect(show(plan.ranges)).toEqual(['t:0 10-15', 't:1 5-5']);
    expect(plan.hasData).toBe(true);
  });

  it('skips an empty batch: no new data means hasData false', () => {
    const plan = planBatch(m({ 't:0': 7 }), m({ 't:0': 7 }), m({}));
    expect(plan.hasData).toBe(false);
    expect(show(plan.ranges)).toEqual(['t:0 7-7']);
  });

  it('caps records per partition', () => {
    const plan = planBatch(m({ 't:0': 0, 't:1': 0 }), m({ 't:0': 100, 't:1': 3 }), m({}), { maxRecordsPerPartition: 10 });
    expect(show(plan.ranges)).toEqual(['t:0 0-10', 't:1 0-3']);
  });

  it('caps records per batch in proportion to each backlog, exactly to the cap', () => {
    const plan = planBatch(m({}), m({ 't:0': 90, 't:1': 10, 't:2': 0 }), m({}), { maxRecordsPerBatch: 11 });
    expect(show(plan.ranges)).toEqual(['t:0 0-10', 't:1 0-1', 't:2 0-0']);
  });

  it('always makes progress when the per-batch cap is smaller than the partition count', () => {
    const plan = planBatch(m({}), m({ 't:0': 1, 't:1': 1, 't:2': 1 }), m({}), { maxRecordsPerBatch: 1 });
    expect(show(plan.ranges)).toEqual(['t:0 0-1', 't:1 0-0', 't:2 0-0']);
  });

  it('reads a new partition from its starting offset', () => {
    const plan = planBatch(m({ 't:0': 4 }), m({ 't:0': 4, 't:1': 9, 't:10': 2 }), m({ 't:1': 3, 't:10': 0 }));
    expect(show(plan.ranges)).toEqual(['t:0 4-4', 't:1 3-9', 't:10 0-2']);
  });

  it('keeps the position of a partition the source no longer lists', () => {
    const plan = planBatch(m({ 't:0': 4, 't:1': 2 }), m({ 't:0': 6 }), m({}));
    expect(show(plan.ranges)).toEqual(['t:0 4-6', 't:1 2-2']);
  });

  it('refuses a source that ends before what was already read', () => {
    expect(() => planBatch(m({ 't:0': 10 }), m({ 't:0': 3 }), m({}))).toThrow(
      /t partition 0: the source ends at offset 3 but the checkpoint has already read up to 10/,
    );
  });
});
