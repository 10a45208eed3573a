import { describe, expect, it } from 'vitest';
import { batchCaps } from '../../src/cli/run-command.js';
import { DEFAULT_MAX_RECORDS_PER_BATCH, planBatch } from '../../src/plan/plan-batch.js';
import { partitionKey } from '../../src/plan/offset-range.js';

describe('duckstream run: batch caps', () => {
  it('caps a backlog at the default per batch when no cap is given', () => {
    expect(batchCaps({}, false)).toEqual({ maxRecordsPerBatch: DEFAULT_MAX_RECORDS_PER_BATCH });
  });

  it('leaves --trigger once uncapped (one batch of everything, as Spark Trigger.Once)', () => {
    expect(batchCaps({}, true)).toEqual({ maxRecordsPerPartition: undefined, maxRecordsPerBatch: undefined });
  });

  it("keeps the user's caps, and 'none' turns the default off", () => {
    expect(batchCaps({ maxRecordsPerPartition: '10' }, false)).toEqual({ maxRecordsPerPartition: 10, maxRecordsPerBatch: undefined });
    expect(batchCaps({ maxRecordsPerBatch: '7' }, false)).toEqual({ maxRecordsPerPartition: undefined, maxRecordsPerBatch: 7 });
    expect(batchCaps({ maxRecordsPerBatch: 'none' }, false)).toEqual({ maxRecordsPerPartition: undefined });
    expect(() => batchCaps({ maxRecordsPerBatch: '0' }, false)).toThrow(/--max-records-per-batch '0' is not a positive whole number/);
  });

  it('a 10M-record backlog over 4 partitions becomes batches of exactly the default', () => {
    const latest = new Map([0, 1, 2, 3].map((p) => [partitionKey({ topic: 'bid', partition: p }), 2_500_000n]));
    const { ranges } = planBatch(new Map(), latest, new Map(), batchCaps({}, false));
    expect(ranges.reduce((a, r) => a + Number(r.until - r.from), 0)).toBe(DEFAULT_MAX_RECORDS_PER_BATCH);
  });
});
