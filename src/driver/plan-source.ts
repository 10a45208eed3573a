import { endOffsets, planBatch, type BatchCaps } from '../plan/plan-batch.js';
import type { OffsetRange, PartitionOffsets } from '../plan/offset-range.js';
import type { Source } from '../source/source.js';

/** What one source's part of a batch plan depends on, besides the source itself. */
export interface SourcePlanInputs {
  /** The source's ranges in the previous batch (undefined: the source was not in it). */
  readonly previous: readonly OffsetRange[] | undefined;
  /** True when the checkpoint has no batch yet: a 'latest' source then starts at its end. */
  readonly firstBatch: boolean;
  /** The source's latest offsets as snapshotted for the batch. */
  readonly latest: PartitionOffsets;
  /** Read no further than this (available-now: what was available at start). */
  readonly bound: PartitionOffsets | undefined;
  /** The run's caps; undefined = uncapped (trigger once), which also ignores the source's own caps. */
  readonly caps: BatchCaps | undefined;
}

/**
 * planBatch for one source, with the inputs runOnce gives it. The real plan and the speculative plan of the next
 * batch (prefetch-next-batch.ts) both go through here, so that for the same inputs they plan the same ranges.
 */
export async function planSource(source: Source, i: SourcePlanInputs): Promise<{ ranges: OffsetRange[]; hasData: boolean }> {
  const committed = endOffsets(i.previous ?? []);
  const bound = i.bound;
  const available = bound ? new Map([...i.latest].map(([k, v]) => [k, bound.has(k) && bound.get(k)! < v ? bound.get(k)! : v])) : i.latest;
  const starting = i.firstBatch && source.startingPosition === 'latest' ? available : await source.earliestOffsets();
  return planBatch(committed, available, starting, i.caps === undefined ? {} : { ...i.caps, ...source.caps });
}
