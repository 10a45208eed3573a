import type { OffsetLogEntry } from '../checkpoint/checkpoint.js';
import { rangeFromJson, type PartitionKey } from '../plan/offset-range.js';
import type { BatchCaps } from '../plan/plan-batch.js';
import type { Source } from '../source/source.js';
import { planSource } from './plan-source.js';

/**
 * Speculative read-ahead: plan the batch after `entry` as runOnce would plan it if nothing changed (committed =
 * this batch's ends, the latest offsets just snapshotted, the same bound and caps) and ask each source that can to
 * start reading those ranges in the background. Nothing here writes anything or fails a batch: the next batch
 * still plans, logs its offsets and reads for itself, and a source uses what it read ahead only when asked for
 * exactly those ranges.
 *
 * Only where a backlog remains: with the next plan empty (the batch took everything available) there is nothing
 * to read ahead, and with new data only (an interval trigger keeping up) the next plan would differ anyway.
 */
export async function prefetchNextBatch(
  sources: readonly Source[],
  entry: OffsetLogEntry,
  latest: ReadonlyMap<string, ReadonlyMap<PartitionKey, bigint>>,
  upTo: ReadonlyMap<string, ReadonlyMap<PartitionKey, bigint>> | undefined,
  caps: BatchCaps,
): Promise<void> {
  for (const source of sources) {
    const sourceLatest = latest.get(source.name);
    if (!source.prefetch || !source.schema || !sourceLatest) continue;
    let next;
    try {
      next = await planSource(source, {
        previous: (entry.sources[source.name] ?? []).map(rangeFromJson),
        firstBatch: false,
        latest: sourceLatest,
        bound: upTo?.get(source.name),
        caps,
      });
    } catch {
      continue; // the next batch's own plan meets the same problem and reports it there
    }
    if (next.hasData) source.prefetch(next.ranges);
  }
}
