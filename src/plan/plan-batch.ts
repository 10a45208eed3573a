import { userError } from '../errors.js';
import { parsePartitionKey, partitionKey, type OffsetRange, type PartitionKey, type PartitionOffsets } from './offset-range.js';

/**
 * The CLI's batch cap when none is given: a backlog (a job started behind, or restarted after a pause) is read in
 * batches of this many records instead of one batch holding it all, so memory stays bounded by the cap, not by the
 * backlog (Spark's maxOffsetsPerTrigger, which Spark leaves unset; Flink bounds it through its network buffers).
 * ~500k records is 100–300 MB of decoded rows for typical 100–300-byte JSON events.
 */
export const DEFAULT_MAX_RECORDS_PER_BATCH = 500_000;

export interface BatchCaps {
  /** At most this many offsets per partition per batch. */
  readonly maxRecordsPerPartition?: number;
  /** At most this many offsets per batch in all, shared across partitions in proportion to their backlog. */
  readonly maxRecordsPerBatch?: number;
}

/**
 * Plan the next batch (docs/architecture.md#the-batch-protocol step 1): for every partition, from = where the last batch ended
 * (or `starting` for a partition seen for the first time), until = min(latest, from + cap).
 * Returns one range per known partition, empty ones included (they carry the position forward);
 * `hasData` says whether any range is non-empty.
 */
export function planBatch(
  committed: PartitionOffsets,
  latest: PartitionOffsets,
  starting: PartitionOffsets,
  caps: BatchCaps = {},
): { ranges: OffsetRange[]; hasData: boolean } {
  const keys = [...new Set([...committed.keys(), ...latest.keys()])].sort(comparePartitionKeys);
  const froms = new Map<PartitionKey, bigint>();
  const backlog = new Map<PartitionKey, bigint>();
  for (const key of keys) {
    const from = committed.get(key) ?? starting.get(key) ?? 0n;
    const end = latest.get(key);
    if (end === undefined) {
      // A partition we read before is gone from the source: keep its position, read nothing.
      froms.set(key, from);
      backlog.set(key, 0n);
      continue;
    }
    if (end < from) {
      const { topic, partition } = parsePartitionKey(key);
      throw userError(
        `${topic} partition ${partition}: the source ends at offset ${end} but the checkpoint has already read up to ${from}`,
        'the log was recreated or truncated; start with a new --checkpoint, or restore the log',
      );
    }
    let size = end - from;
    if (caps.maxRecordsPerPartition !== undefined && size > BigInt(caps.maxRecordsPerPartition)) size = BigInt(caps.maxRecordsPerPartition);
    froms.set(key, from);
    backlog.set(key, size);
  }
  const sizes = capTotal(keys, backlog, caps.maxRecordsPerBatch);
  const ranges = keys.map((key) => {
    const { topic, partition } = parsePartitionKey(key);
    const from = froms.get(key)!;
    return { topic, partition, from, until: from + sizes.get(key)! };
  });
  return { ranges, hasData: ranges.some((r) => r.until > r.from) };
}

/** Shrink sizes to a total, each partition keeping its share of the backlog (Spark's maxOffsetsPerTrigger). */
function capTotal(keys: PartitionKey[], sizes: Map<PartitionKey, bigint>, cap: number | undefined): Map<PartitionKey, bigint> {
  const total = [...sizes.values()].reduce((a, b) => a + b, 0n);
  if (cap === undefined || total <= BigInt(cap)) return sizes;
  const limit = BigInt(cap);
  const out = new Map<PartitionKey, bigint>();
  let given = 0n;
  for (const key of keys) {
    const share = (sizes.get(key)! * limit) / total;
    out.set(key, share);
    given += share;
  }
  // Hand the rounding remainder out one by one, so the batch is exactly `cap` and always makes progress.
  for (const key of keys) {
    if (given >= limit) break;
    if (out.get(key)! < sizes.get(key)!) {
      out.set(key, out.get(key)! + 1n);
      given += 1n;
    }
  }
  return out;
}

function comparePartitionKeys(a: PartitionKey, b: PartitionKey): number {
  const pa = parsePartitionKey(a);
  const pb = parsePartitionKey(b);
  return pa.topic === pb.topic ? pa.partition - pb.partition : pa.topic < pb.topic ? -1 : 1;
}

/** The positions a batch leaves behind: its ranges' ends. */
export function endOffsets(ranges: readonly OffsetRange[]): Map<PartitionKey, bigint> {
  return new Map(ranges.map((r) => [partitionKey(r), r.until]));
}
