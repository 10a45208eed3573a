/** Per partition of a source: what its watermark is computed from. */
export interface PartitionWatermark {
  /** Max event time seen in the partition (ms). */
  maxEventTimeMs: number;
  /** Batch time of the last batch with rows from the partition (ms), for idleness. */
  lastDataAtMs: number;
}

/** Carried from batch to batch in the commit log (and in the state database for replays). */
export interface WatermarkState {
  /** The watermark the next batch runs with (ms); null before any event time was seen. */
  watermarkMs: number | null;
  /** Per source, per partition key (`topic:partition`). */
  sources: Record<string, Record<string, PartitionWatermark>>;
}

export interface WatermarkSpec {
  readonly source: string;
  readonly delayMs: number;
  /** With no new rows for this long (processing time), a partition stops holding the watermark back. */
  readonly idleTimeoutMs: number | undefined;
}

/** Later than any event: the watermark after `--drain`, which closes every window. */
export const END_OF_TIME_MS = 8_640_000_000_000_000;

export const INITIAL_WATERMARK: WatermarkState = { watermarkMs: null, sources: {} };

/**
 * The watermark after a batch. Per partition: max event time seen − delay. Per source: the minimum over its
 * partitions, because batches cut partitions at different event times (a partition behind in event time must
 * not see its on-time rows called late: Flink's and Kafka Streams' rule). Across sources: the minimum (joins).
 * A partition with no rows for `idle_timeout` stops counting; when every partition of a source is idle, the
 * source's watermark moves with processing time (batch time − delay), so windows close when data stops.
 * Partitions that never had a row do not count. Never moves backwards. `batchTime` is the batch's logged time,
 * so a replay computes the same watermark.
 */
export function advanceWatermark(
  prev: WatermarkState,
  specs: readonly WatermarkSpec[],
  batchMax: ReadonlyMap<string, ReadonlyMap<string, number>>,
  batchTime: number,
  drain = false,
): WatermarkState {
  if (specs.length === 0) return prev;
  const sources: Record<string, Record<string, PartitionWatermark>> = {};
  const perSource: number[] = [];
  let waiting = false;
  for (const spec of specs) {
    const partitions: Record<string, PartitionWatermark> = { ...(prev.sources[spec.source] ?? {}) };
    for (const [key, max] of batchMax.get(spec.source) ?? []) {
      const before = partitions[key];
      partitions[key] = { maxEventTimeMs: Math.max(max, before?.maxEventTimeMs ?? max), lastDataAtMs: batchTime };
    }
    sources[spec.source] = partitions;
    const active = Object.values(partitions).filter((p) => spec.idleTimeoutMs === undefined || batchTime - p.lastDataAtMs < spec.idleTimeoutMs);
    if (active.length > 0) perSource.push(Math.min(...active.map((p) => p.maxEventTimeMs)) - spec.delayMs);
    else if (spec.idleTimeoutMs !== undefined)
      perSource.push(batchTime - spec.delayMs); // idle, or never had a row
    else waiting = true; // a source that has not had a row yet holds the watermark back
  }
  let next: number | null = drain ? END_OF_TIME_MS : waiting ? null : Math.min(...perSource);
  if (next === null) next = prev.watermarkMs;
  else if (prev.watermarkMs !== null) next = Math.max(next, prev.watermarkMs);
  return { watermarkMs: next, sources };
}
