/**
 * A partition of a source: a topic (log directory name, Kafka topic, JetStream stream) and a number.
 * Offsets are bigint in memory and decimal strings on disk.
 */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * `[from, until)`: every record of the partition whose offset is >= from and < until.
 * Offsets inside need not be contiguous (compaction, transaction markers).
 */
export interface OffsetRange extends TopicPartition {
  readonly from: bigint;
  readonly until: bigint;
}

/** Map key of a partition: `topic:partition`. Topics cannot contain ':' on any source we support. */
export type PartitionKey = string;

export function partitionKey(tp: TopicPartition): PartitionKey {
  return `${tp.topic}:${tp.partition}`;
}

export function parsePartitionKey(key: PartitionKey): TopicPartition {
  const at = key.lastIndexOf(':');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

export type PartitionOffsets = ReadonlyMap<PartitionKey, bigint>;

export function rangeSize(r: OffsetRange): bigint {
  return r.until > r.from ? r.until - r.from : 0n;
}

/** Offsets as they are written to disk: decimal strings. */
export interface OffsetRangeJson {
  topic: string;
  partition: number;
  from: string;
  until: string;
}

export function rangeToJson(r: OffsetRange): OffsetRangeJson {
  return { topic: r.topic, partition: r.partition, from: r.from.toString(), until: r.until.toString() };
}

export function rangeFromJson(j: OffsetRangeJson): OffsetRange {
  return { topic: j.topic, partition: j.partition, from: BigInt(j.from), until: BigInt(j.until) };
}

/** A batch's ranges (empty ones included) as a key: what was read ahead is used only for the very same ranges. */
export function rangesKey(ranges: readonly OffsetRange[]): string {
  return JSON.stringify(ranges.map((r) => [r.topic, r.partition, String(r.from), String(r.until)]));
}
