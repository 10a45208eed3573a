/** Per source: what the watermark is computed from, carried from batch to batch in the commit log. */
export interface SourceWatermark {
  /** Max event time seen so far (ms), null before any. */
  maxEventTimeMs: number | null;
  /** Batch time of the last batch that had rows from this source (ms), for idleness. */
  lastDataAtMs: number | null;
}

export interface WatermarkState {
  /** The watermark the next batch runs with (ms); null before any event time was seen. */
  watermarkMs: number | null;
  sources: Record<string, SourceWatermark>;
}

export interface WatermarkSpec {
  readonly source: string;
  readonly delayMs: number;
  /** With no new rows for this long (processing time), the source stops holding the watermark back. */
  readonly idleTimeoutMs: number | undefined;
}

/** Later than any event: the watermark after `--drain`, which closes every window. */
export const END_OF_TIME_MS = 8_640_000_000_000_000;

export const INITIAL_WATERMARK: WatermarkState = { watermarkMs: null, sources: {} };

/**
 * The watermark after a batch (Spark's semantics): per source, max event time seen − delay; across sources the
 * minimum (for joins). A source idle for `idle_timeout` stops counting, and advances with processing time when all
 * are idle, so windows close when data stops (Flink's idleness). Never moves backwards. `batchTime` is the batch's
 * logged time, so a replay computes the same watermark.
 */
export function advanceWatermark(
  prev: WatermarkState,
  specs: readonly WatermarkSpec[],
  batchMaxMs: ReadonlyMap<string, number | null>,
  batchTime: number,
  drain = false,
): WatermarkState {
  if (specs.length === 0) return prev;
  const sources: Record<string, SourceWatermark> = {};
  const active: number[] = [];
  const idle: number[] = [];
  for (const spec of specs) {
    const before = prev.sources[spec.source] ?? { maxEventTimeMs: null, lastDataAtMs: null };
    const seen = batchMaxMs.get(spec.source) ?? null;
    const max = seen === null ? before.maxEventTimeMs : Math.max(seen, before.maxEventTimeMs ?? seen);
    const lastDataAt = seen === null ? before.lastDataAtMs : batchTime;
    sources[spec.source] = { maxEventTimeMs: max, lastDataAtMs: lastDataAt };
    const own = max === null ? null : max - spec.delayMs;
    const isIdle = spec.idleTimeoutMs !== undefined && batchTime - (lastDataAt ?? Number.NEGATIVE_INFINITY) >= spec.idleTimeoutMs;
    if (isIdle) idle.push(Math.max(own ?? Number.NEGATIVE_INFINITY, batchTime - spec.delayMs));
    else if (own !== null) active.push(own);
    else active.push(Number.NaN); // an active source with no event time yet holds the watermark back
  }
  let next: number | null;
  if (drain) next = END_OF_TIME_MS;
  else if (active.some(Number.isNaN)) next = null;
  else if (active.length > 0) next = Math.min(...active);
  else next = Math.min(...idle);
  if (next !== null && prev.watermarkMs !== null) next = Math.max(next, prev.watermarkMs);
  if (next === null) next = prev.watermarkMs;
  return { watermarkMs: next, sources };
}
